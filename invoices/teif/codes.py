"""TEIF 1.8.8 code lists ("référentiels" I-0 … I-17 of TTN's TEIF implementation guide).

Only the codes this project emits or accepts are listed; every value is the guide's, none is
ours. Version 1.8.8 is the one El Fatoora accepts in production (TTN, 2026).
"""

import re

TEIF_VERSION = "1.8.8"
CONTROLLING_AGENCY = "TTN"

# I-0: partner identifier types.
ID_MATRICULE_FISCAL = "I-01"  # Matricule fiscal tunisien
ID_CIN = "I-02"  # Carte d'identité nationale
ID_RESIDENCE_CARD = "I-03"  # Carte de séjour
ID_FOREIGN_TAX_ID = "I-04"  # Matricule fiscal non tunisien
IDENTIFIER_TYPES = frozenset({ID_MATRICULE_FISCAL, ID_CIN, ID_RESIDENCE_CARD, ID_FOREIGN_TAX_ID})

# Identifier formats: the 1.8.8 schema accepts the 13-character matricule only (1.8.9 adds the
# 8-character form); its check letter is never I, O or U; VAT code A/B/D/N/P, category C/M/N/P,
# main establishment 000.
IDENTIFIER_PATTERNS = {
    ID_MATRICULE_FISCAL: re.compile(r"[0-9]{7}[ABCDEFGHJKLMNPQRSTVWXYZ][ABDNP][CMNP]000"),
    ID_CIN: re.compile(r"[0-9]{8}"),
    ID_RESIDENCE_CARD: re.compile(r"[0-9]{9}"),
    ID_FOREIGN_TAX_ID: re.compile(r".{1,35}"),
}

# I-1: document types.
DOC_INVOICE = "I-11"  # Facture
DOC_CREDIT_NOTE = "I-12"  # Facture d'avoir
DOCUMENT_TYPES = {
    "I-11": "Facture",
    "I-12": "Facture d'avoir",
    "I-13": "Note d'honoraire",
    "I-14": "Décompte (marché public)",
    "I-15": "Facture Export",
    "I-16": "Bon de commande",
}

LANGUAGES = frozenset({"fr", "ar", "en"})

# I-3: date functions; formats of DateText.
DATE_ISSUE = "I-31"  # Date d'émission du document
DATE_DUE = "I-32"  # Date limite de paiement
DATE_FUNCTIONS = frozenset({f"I-3{i}" for i in range(1, 9)})
DATE_FORMATS = {
    "ddMMyy": re.compile(r"(0[1-9]|[12][0-9]|3[01])(0[1-9]|1[0-2])[0-9]{2}"),
    "ddMMyyHHmm": re.compile(
        r"(0[1-9]|[12][0-9]|3[01])(0[1-9]|1[0-2])[0-9]{2}([01][0-9]|2[0-3])[0-5][0-9]"
    ),
    "ddMMyy-ddMMyy": re.compile(r"[0-9]{6}-[0-9]{6}"),
}

# I-4: free text subjects.
TEXT_GOODS_SERVICES = "I-41"  # Description marchandise / service
TEXT_OBSERVATION = "I-48"  # Observation
FREE_TEXT_SUBJECTS = frozenset({f"I-4{i}" for i in range(1, 9)})

# I-6: partner functions.
PARTNER_SUPPLIER = "I-62"  # Fournisseur
PARTNER_CLIENT = "I-64"  # Client
PARTNER_FUNCTIONS = frozenset({f"I-6{i}" for i in range(1, 10)})

# Name formats of PartnerName@nameType (I-7: I-71 name and surname, I-72 company name), as the
# schema spells them.
NAME_PERSON = "Physical"
NAME_COMPANY = "Qualification"
NAME_TYPES = frozenset({NAME_PERSON, NAME_COMPANY})

# I-8: reference qualifiers.
REF_TRADE_REGISTER = "I-815"  # Registre de commerce
REF_TTN = "I-88"  # Référence TTN de la facture
REF_INVOICE = "I-89"  # Numéro de la facture référencée
REFERENCE_QUALIFIERS = frozenset(
    {"I-80", "I-81", "I-811", "I-812", "I-813", "I-814", "I-815", "I-816", "I-817", "I-818"}
    | {f"I-8{i}" for i in range(2, 10)}
    | {"I-871"}
)

# I-9: contact functions; I-10: communication means.
CONTACT_OTHER = "I-94"
CONTACT_FUNCTIONS = frozenset({"I-91", "I-92", "I-93", "I-94"})
COM_PHONE = "I-101"
COM_EMAIL = "I-103"
COMMUNICATION_MEANS = frozenset({"I-101", "I-102", "I-103", "I-104"})

# I-11: payment terms; I-14: financial institutions.
PAYMENT_BASIC = "I-111"  # Basic
PAYMENT_BANK_TRANSFER = "I-114"  # Par virement bancaire
PAYMENT_TERMS = frozenset({f"I-11{i}" for i in range(1, 8)})
INSTITUTION_BANK = "I-142"  # Banque
FINANCIAL_INSTITUTIONS = frozenset({"I-141", "I-142", "I-143"})

# I-16: tax types.
TAX_STAMP_DUTY = "I-1601"  # Droit de timbre
TAX_TVA = "I-1602"  # TVA
TAX_TYPES = frozenset(
    {f"I-16{i}" for i in range(1, 10)} | {"I-160", "I-1601", "I-1602", "I-1603", "I-1604"}
)

# I-17: amount types.
AMOUNT_LINE_HT = "I-171"  # Montant total HT de l'article
AMOUNT_TOTAL_HT = "I-176"  # Montant total HT facture
AMOUNT_TAX_BASE = "I-177"  # Montant base taxe
AMOUNT_TAX = "I-178"  # Montant taxe
AMOUNT_TOTAL_TTC = "I-180"  # Montant total TTC facture
AMOUNT_TOTAL_TAX = "I-181"  # Montant total taxe
AMOUNT_TOTAL_TAX_BASE = "I-182"  # Montant total base taxe
AMOUNT_UNIT_HT = "I-183"  # Montant HT article unitaire
AMOUNT_TYPES = frozenset({f"I-17{i}" for i in range(1, 10)} | {f"I-18{i}" for i in range(0, 10)})

CURRENCY = "TND"
CURRENCY_CODE_LIST = "ISO_4217"
COUNTRY_CODE_LIST = "ISO_3166-1"
# Amounts: a dot, no thousands separator, up to 5 decimals (TND is written with 3).
AMOUNT_PATTERN = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,5})?")
