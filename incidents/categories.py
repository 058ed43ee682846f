"""Names of the categories of personal data (privacy registry sources) as people read them."""

LABELS = {
    "account": ("compte (identifiant)", "الحساب (اسم المستخدم)", "account (username)"),
    "contact_details": (
        "coordonnées (nom, e-mail, téléphone, adresse)",
        "بيانات الاتصال (الاسم، البريد الإلكتروني، الهاتف، العنوان)",
        "contact details (name, e-mail, phone, address)",
    ),
    "customer": (
        "fiche client (nom, coordonnées, CIN ou matricule fiscal)",
        "ملف الحريف (الاسم، بيانات الاتصال، بطاقة التعريف أو المعرف الجبائي)",
        "customer record (name, contact details, national or tax ID)",
    ),
    "vehicles": (
        "véhicules (immatriculation, numéro de série, kilométrage)",
        "العربات (رقم التسجيل، الرقم التسلسلي، عدد الكيلومترات)",
        "vehicles (plate, VIN, mileage)",
    ),
    "documents": (
        "documents (carte grise)",
        "الوثائق (البطاقة الرمادية)",
        "documents (registration)",
    ),
    "appointments": ("rendez-vous", "المواعيد", "appointments"),
    "service_orders": ("ordres de réparation", "أوامر الإصلاح", "service orders"),
    "invoices": ("factures", "الفواتير", "invoices"),
    "credit_notes": ("avoirs", "الفواتير التعديلية", "credit notes"),
    "notifications": ("messages envoyés", "الرسائل المرسلة", "messages sent"),
    "auth_events": ("historique de connexion", "سجل الدخول", "login history"),
    "consents": ("consentements", "الموافقات", "consents"),
}
LANGUAGES = ("fr", "ar", "en")


def category_label(name: str, language: str = "fr") -> str:
    """A category in the reader's language (the source name when it has no label)."""
    labels = LABELS.get(name)
    if labels is None:
        return name.replace("_", " ")
    return labels[LANGUAGES.index(language) if language in LANGUAGES else 0]
