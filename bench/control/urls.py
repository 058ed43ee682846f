from django.urls import include, path
from rest_framework.routers import DefaultRouter
from rest_framework_simplejwt.views import TokenObtainPairView

from control import views

router = DefaultRouter()
router.register("customers", views.CustomerViewSet)
router.register("vehicles", views.VehicleViewSet)
router.register("service-orders", views.ServiceOrderViewSet)

urlpatterns = [
    path("api/login/", TokenObtainPairView.as_view()),
    path("api/protected/", views.ProtectedApi.as_view()),
    path("api/", include(router.urls)),
]
