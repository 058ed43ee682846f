from django.urls import path

from privacy import views

urlpatterns = [
    path("download_user_data/", views.DownloadUserDataApi.as_view(), name="download-user-data"),
    path("delete_user_data/", views.DeleteUserDataApi.as_view(), name="delete-user-data"),
    path("users/<int:pk>/export/", views.UserExportApi.as_view(), name="user-export"),
    path("users/<int:pk>/erase/", views.UserEraseApi.as_view(), name="user-erase"),
    path("privacy-notice/", views.PrivacyNoticeApi.as_view(), name="privacy-notice"),
    path("me/consents/", views.ConsentApi.as_view(), name="consents"),
    path("me/access-log/", views.AccessLogApi.as_view(), name="access-log"),
]
