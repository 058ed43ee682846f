"""OutputModelSerializer: fields built once per class, never shared between serializers."""

from rest_framework import serializers

from config.serializers import OutputModelSerializer
from garage.models import Vehicle


class VehicleRow(OutputModelSerializer):
    label = serializers.SerializerMethodField()

    class Meta:
        model = Vehicle
        fields = ["id", "make", "year", "label"]

    def get_label(self, vehicle) -> str:
        return f"{vehicle.make} {vehicle.model}"


def test_each_serializer_gets_its_own_bound_fields():
    first, second = VehicleRow(), VehicleRow()
    assert list(first.fields) == list(second.fields) == ["id", "make", "year", "label"]
    for name in first.fields:
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first
        assert second.fields[name].parent is second
    assert isinstance(first.fields["year"], serializers.IntegerField)
    assert first.fields["make"].max_length == 50


def test_rendering_is_the_model_serializers():
    vehicle = Vehicle(id=7, make="Renault", model="Clio", year=2019)

    class Plain(serializers.ModelSerializer):
        label = serializers.SerializerMethodField()

        class Meta:
            model = Vehicle
            fields = ["id", "make", "year", "label"]

        def get_label(self, vehicle) -> str:
            return f"{vehicle.make} {vehicle.model}"

    rows = VehicleRow([vehicle, vehicle], many=True).data
    assert rows == [Plain(vehicle).data] * 2
    assert rows[0] == {"id": 7, "make": "Renault", "year": 2019, "label": "Renault Clio"}


def test_columns_foreign_keys_and_other_fields_render_as_drf_renders_them():
    from garage.models import Customer

    class Plain(serializers.ModelSerializer):
        label = serializers.SerializerMethodField()
        owner = serializers.PrimaryKeyRelatedField(source="customer", read_only=True)
        made = serializers.CharField(source="make", read_only=True)

        class Meta:
            model = Vehicle
            fields = ["id", "customer", "owner", "make", "made", "year", "fuel", "label"]

        def get_label(self, vehicle) -> str:
            return f"{vehicle.make} {vehicle.model}"

    class Lean(OutputModelSerializer, Plain):
        class Meta(Plain.Meta):
            pass

    owned = Vehicle(id=3, customer=Customer(id=11), make="Kia", model="Rio", year=None, fuel="")
    walk_in = Vehicle(id=4, customer_id=None, make="Fiat", model="Uno", year=1999, fuel="diesel")

    rows = Lean([owned, walk_in], many=True).data
    assert rows == [Plain(owned).data, Plain(walk_in).data]
    assert rows[0] == {
        "id": 3,
        "customer": 11,
        "owner": 11,
        "make": "Kia",
        "made": "Kia",
        "year": None,
        "fuel": "",
        "label": "Kia Rio",
    }
    assert rows[1]["customer"] is None and rows[1]["year"] == 1999


def test_fields_holding_fields_are_copied_with_their_children():
    from config.serializers import OutputSerializer

    class Tagged(OutputSerializer):
        tags = serializers.ListField(child=serializers.CharField())
        name = serializers.CharField()

    first, second = Tagged({"tags": ["a", 1], "name": "x"}), Tagged({"tags": [], "name": "y"})

    assert first.fields["tags"].child is not second.fields["tags"].child
    assert first.fields["tags"].child.parent is first.fields["tags"]
    assert first.fields["name"] is not second.fields["name"]
    assert first.data == {"tags": ["a", "1"], "name": "x"} and second.data["tags"] == []


def test_a_serializer_that_drops_fields_renders_its_own_fields():
    class Trimmed(VehicleRow):
        def __init__(self, *args, short=False, **kwargs):
            super().__init__(*args, **kwargs)
            if short:
                self.fields.pop("make")

    vehicle = Vehicle(id=7, make="Renault", model="Clio", year=2019)

    assert Trimmed(vehicle, short=True).data == {"id": 7, "year": 2019, "label": "Renault Clio"}
    assert Trimmed(vehicle).data["make"] == "Renault"


def test_many_relations_are_copied_with_their_child():
    from config.serializers import OutputSerializer
    from garage.models import Customer

    class Ids(OutputSerializer):
        ids = serializers.PrimaryKeyRelatedField(many=True, queryset=Customer.objects.none())

    first, second = Ids(), Ids()

    assert first.fields["ids"].child_relation is not second.fields["ids"].child_relation
    assert first.fields["ids"].child_relation.root is first
