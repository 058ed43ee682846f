"""Invoice arithmetic in Tunisian dinars: Decimal only, half-up to the millime, line by line.

Each line is rounded on its own (total excluding tax, then its TVA); the document totals are sums
of those rounded lines, so the printed lines always add up to the printed totals.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

MILLIME = Decimal("0.001")
ZERO = Decimal("0.000")
HUNDRED = Decimal(100)
RATE_STEP = Decimal("0.01")


def to_millimes(value: Decimal) -> Decimal:
    """Round half-up to the millime (3 decimals)."""
    if not isinstance(value, Decimal):
        raise TypeError(f"Money must be a Decimal, not {type(value).__name__}.")
    return value.quantize(MILLIME, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineAmounts:
    total_ht: Decimal
    tva_amount: Decimal
    total_ttc: Decimal


def line_amounts(*, quantity: Decimal, unit_price: Decimal, tva_rate: Decimal) -> LineAmounts:
    """One line: total excluding tax and its TVA, each rounded half-up to the millime."""
    total_ht = to_millimes(quantity * unit_price)
    tva_amount = to_millimes(total_ht * tva_rate / HUNDRED)
    return LineAmounts(total_ht=total_ht, tva_amount=tva_amount, total_ttc=total_ht + tva_amount)


@dataclass(frozen=True)
class TvaBucket:
    rate: Decimal
    base: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Totals:
    total_ht: Decimal
    total_tva: Decimal
    stamp_duty: Decimal
    total_ttc: Decimal
    tva: tuple[TvaBucket, ...]


def tva_summary(lines: Iterable) -> tuple[TvaBucket, ...]:
    """Sums of the rounded lines per TVA rate (objects with tva_rate, total_ht, tva_amount)."""
    buckets: dict[Decimal, list[Decimal]] = {}
    for line in lines:
        rate = Decimal(line.tva_rate).quantize(RATE_STEP)  # 19, 19.0 and 19.00 are one rate
        base, amount = buckets.setdefault(rate, [ZERO, ZERO])
        buckets[rate] = [base + line.total_ht, amount + line.tva_amount]
    return tuple(
        TvaBucket(rate=rate, base=base, amount=amount)
        for rate, (base, amount) in sorted(buckets.items(), reverse=True)
    )


def document_totals(lines: Iterable, *, stamp_duty: Decimal) -> Totals:
    """The totals of an invoice or credit note: sums of its rounded lines plus the stamp duty."""
    buckets = tva_summary(lines)
    total_ht = sum((b.base for b in buckets), ZERO)
    total_tva = sum((b.amount for b in buckets), ZERO)
    stamp_duty = to_millimes(stamp_duty)
    return Totals(
        total_ht=total_ht,
        total_tva=total_tva,
        stamp_duty=stamp_duty,
        total_ttc=total_ht + total_tva + stamp_duty,
        tva=buckets,
    )


def format_tnd(value: Decimal) -> str:
    """French notation with 3 decimals: 1 234,567 (a plain space between thousands)."""
    text = f"{to_millimes(value):,.3f}"
    return text.replace(",", " ").replace(".", ",")


def format_rate(rate: Decimal) -> str:
    """A TVA rate as printed: 19 %, 7 %, 0 %, 6,5 %."""
    text = f"{Decimal(rate).normalize():f}".replace(".", ",")
    return f"{text} %"


# --- Amount in words ("Arrêtée la présente facture à la somme de …") ----------------------------

_UNITS = [
    "zéro",
    "un",
    "deux",
    "trois",
    "quatre",
    "cinq",
    "six",
    "sept",
    "huit",
    "neuf",
    "dix",
    "onze",
    "douze",
    "treize",
    "quatorze",
    "quinze",
    "seize",
    "dix-sept",
    "dix-huit",
    "dix-neuf",
]
_TENS = {2: "vingt", 3: "trente", 4: "quarante", 5: "cinquante", 6: "soixante"}


def _below_100(n: int) -> str:
    if n < 20:
        return _UNITS[n]
    tens, unit = divmod(n, 10)
    if tens in (7, 9):  # soixante-dix…, quatre-vingt-dix…
        base = "soixante" if tens == 7 else "quatre-vingt"
        joiner = " et " if tens == 7 and unit == 1 else "-"
        return f"{base}{joiner}{_UNITS[10 + unit]}"
    if tens == 8:
        return "quatre-vingts" if unit == 0 else f"quatre-vingt-{_UNITS[unit]}"
    if unit == 0:
        return _TENS[tens]
    joiner = " et " if unit == 1 else "-"
    return f"{_TENS[tens]}{joiner}{_UNITS[unit]}"


def _below_1000(n: int, *, final: bool = True) -> str:
    hundreds, rest = divmod(n, 100)
    words = []
    if hundreds:
        words.append("cent" if hundreds == 1 else f"{_UNITS[hundreds]} cent")
        if hundreds > 1 and rest == 0 and final:
            words[-1] += "s"
    if rest:
        text = _below_100(rest)
        if rest == 80 and not final:
            text = "quatre-vingt"
        words.append(text)
    return " ".join(words)


def number_in_words(n: int) -> str:
    """A non-negative integer in French words (traditional spelling), below one thousand billion."""
    if n < 0 or n >= 10**12:
        raise ValueError("Out of range.")
    if n == 0:
        return "zéro"
    parts = []
    for size, singular, plural in (
        (10**9, "milliard", "milliards"),
        (10**6, "million", "millions"),
    ):
        count, n = divmod(n, size)
        if count:
            parts.append(f"{number_in_words(count)} {singular if count == 1 else plural}")
    thousands, rest = divmod(n, 1000)
    if thousands:
        parts.append("mille" if thousands == 1 else f"{_below_1000(thousands, final=False)} mille")
    if rest:
        parts.append(_below_1000(rest))
    return " ".join(parts)


def amount_in_words(value: Decimal) -> str:
    """'1 234,500' → 'mille deux cent trente-quatre dinars et cinq cents millimes'."""
    value = to_millimes(value)
    dinars = int(value)
    millimes = int((value - dinars) * 1000)
    text = f"{number_in_words(dinars)} dinar{'s' if dinars > 1 else ''}"
    if millimes:
        text += f" et {number_in_words(millimes)} millime{'s' if millimes > 1 else ''}"
    return text
