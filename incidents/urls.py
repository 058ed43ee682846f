from config.routers import IdRouter
from incidents import views

router = IdRouter()
router.register("alerts", views.AlertViewSet, basename="alert")
router.register("incidents", views.IncidentViewSet, basename="incident")

urlpatterns = router.urls
