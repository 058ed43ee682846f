"""factory_boy factories for accounts: users are made by the `user_create` service."""

import factory

from accounts.models import Role, User
from accounts.services import user_create

# The same password as the root conftest's `password` fixture, so `login(user.username)` works.
PASSWORD = "Garage#Pass2026"


class UserFactory(factory.Factory):
    """A user created through `user_create`: password policy, history row and profile included.

    Traits: `technician`, `super_admin` (role) and `inactive` (deactivated after creation).
    """

    class Meta:
        model = User

    class Params:
        technician = factory.Trait(role=Role.TECHNICIAN)
        super_admin = factory.Trait(role=Role.SUPER_ADMIN)
        inactive = factory.Trait(is_active=False)

    username = factory.Sequence(lambda n: f"user{n}")
    password = PASSWORD
    role = Role.CUSTOMER
    contact = None
    is_active = True

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        raise NotImplementedError("Users are only created (through user_create), never built.")

    @classmethod
    def _create(cls, model_class, *args, is_active=True, **kwargs):
        user = user_create(**kwargs)
        if not is_active:
            user.is_active = False
            user.save(update_fields=["is_active"])
        return user
