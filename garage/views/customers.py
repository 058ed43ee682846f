"""Garage API: customers."""

from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from config.routers import IdRouter
from garage.models import Customer
from garage.permissions import CUSTOMER_OR_ADMIN, SUPER_ADMIN, RolesByAction
from garage.selectors.customers import (
    CustomerFilter,
    customer_get,
    customer_list,
    customer_search,
)
from garage.serializers.customers import (
    CustomerAdminUpdateInputSerializer,
    CustomerContactInputSerializer,
    CustomerCreateInputSerializer,
    CustomerDetailOutputSerializer,
    CustomerListOutputSerializer,
    CustomerSearchInputSerializer,
)
from garage.services.customers import customer_create, customer_update
from privacy.services import access_record_create


def record_customer_read(request, customer) -> None:
    """Leave an access record when staff read a customer's full record (not the customer)."""
    if request.user.is_super_admin:
        access_record_create(
            request=request,
            subject=customer,
            action="customer.read",
            subject_user_id=customer.user_id,
        )


class CustomerViewSet(RolesByAction, viewsets.GenericViewSet):
    """Customer records. Super-admins: everyone; customers: their own record; technicians: none.

    Access records: the list shows names and phone numbers only (what the front desk needs to
    find and call someone) and is not recorded row by row; every read of a full record (detail,
    and the record returned after a change) by anyone but the customer leaves an AccessRecord.
    Exact search by phone, e-mail, CIN or tax ID goes through the blind indexes, with the values
    in a POST body (`search`): personal data never travels in a URL.
    """

    allowed_roles = CUSTOMER_OR_ADMIN
    roles_by_action = {
        "list": CUSTOMER_OR_ADMIN,
        "retrieve": CUSTOMER_OR_ADMIN,
        "create": SUPER_ADMIN,
        "partial_update": CUSTOMER_OR_ADMIN,
        "search": CUSTOMER_OR_ADMIN,
    }
    serializer_class = CustomerDetailOutputSerializer
    filterset_class = CustomerFilter
    ordering_fields = ["created_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Customer.objects.none()
        return customer_list(user=self.request.user)

    @extend_schema(responses=CustomerListOutputSerializer(many=True))
    def list(self, request):
        # Only the columns the list shows: the others would be decrypted for nothing.
        customers = self.get_queryset().only(*CustomerListOutputSerializer.Meta.fields)
        page = self.paginate_queryset(self.filter_queryset(customers))
        return self.get_paginated_response(CustomerListOutputSerializer(page, many=True).data)

    @extend_schema(
        request=CustomerSearchInputSerializer,
        responses=CustomerListOutputSerializer(many=True),
        description="Exact search by e-mail, phone, CIN or matricule fiscal (every value given "
        "must match), through the blind indexes. Same rows and roles as the list.",
    )
    @action(detail=False, methods=["post"])
    def search(self, request):
        data = CustomerSearchInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        found = customer_search(user=request.user, filters=data.validated_data)
        page = self.paginate_queryset(found)
        return self.get_paginated_response(CustomerListOutputSerializer(page, many=True).data)

    @extend_schema(responses=CustomerDetailOutputSerializer)
    def retrieve(self, request, pk=None):
        customer = customer_get(user=request.user, pk=pk)
        record_customer_read(request, customer)
        return Response(CustomerDetailOutputSerializer(customer).data)

    @extend_schema(
        request=CustomerCreateInputSerializer, responses={201: CustomerDetailOutputSerializer}
    )
    def create(self, request):
        data = CustomerCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = customer_create(**data.validated_data)
        return Response(
            CustomerDetailOutputSerializer(customer).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        request=CustomerAdminUpdateInputSerializer,
        responses=CustomerDetailOutputSerializer,
        description="Super-admins may change every field; a customer only the contact fields "
        "(full_name, phone, phone_secondary, email, address, preferred_contact) of their own "
        "record.",
    )
    def partial_update(self, request, pk=None):
        customer = customer_get(user=request.user, pk=pk)
        serializer_class = (
            CustomerAdminUpdateInputSerializer
            if request.user.is_super_admin
            else CustomerContactInputSerializer
        )
        data = serializer_class(data=request.data)
        data.is_valid(raise_exception=True)
        customer = customer_update(customer=customer, actor=request.user, data=data.validated_data)
        record_customer_read(request, customer)
        return Response(CustomerDetailOutputSerializer(customer).data)


router = IdRouter()
router.register("customers", CustomerViewSet, basename="customer")

urlpatterns = router.urls
