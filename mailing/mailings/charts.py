"""The mailing page as a picture: how sending and delivery went over time (an SVG drawn on
the server from the mailing's own data, lines told apart by their dash pattern and labels, not
by colour alone), and why recipients failed or bounced, each reason linking to its list."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncDay, TruncHour, TruncMinute
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mailing.models import Mailing, Recipient

S = Recipient.Status
FAILED = [S.FAILED, S.BOUNCED]
# Why a recipient failed or bounced, by the enhanced status code of the report (bounces) or
# of the server's reply (failures): RFC 3463 classes.
REASONS = [
    ("unknown", gettext_lazy("Mailbox unknown"), ("5.1.",)),
    ("full", gettext_lazy("Mailbox full"), ("5.2.2", "4.2.2", "5.2.1")),
    ("refused", gettext_lazy("Refused as spam or by policy"), ("5.7.", "4.7.")),
    ("other", gettext_lazy("Other reasons"), ()),
]
REASON_KEYS = [key for key, _label, _prefixes in REASONS]


def _code_starts(prefixes) -> Q:
    query = Q()
    for prefix in prefixes:
        query |= Q(delivery_status__startswith=prefix) | Q(smtp_text__startswith=prefix)
    return query


def reason_filter(key: str) -> Q:
    """The failed or bounced recipients of one reason."""
    if key == "other":
        known = Q()
        for _key, _label, prefixes in REASONS[:-1]:
            known |= _code_starts(prefixes)
        return Q(status__in=FAILED) & ~known
    prefixes = next(prefixes for name, _label, prefixes in REASONS if name == key)
    return Q(status__in=FAILED) & _code_starts(prefixes)


def failure_reasons(mailing: Mailing) -> list[dict]:
    """Each reason with its count (one query); reasons nobody fell under are left out."""
    failed = Recipient.objects.filter(mailing=mailing)
    counts = failed.aggregate(**{key: Count("pk", filter=reason_filter(key))
                                 for key in REASON_KEYS})
    return [{"key": key, "label": label, "count": counts[key]}
            for key, label, _prefixes in REASONS if counts[key]]


@dataclass
class _Series:
    key: str
    label: str
    dash: str  # the line's pattern: the lines are told apart without colour
    points: list[tuple[float, int]]


def _timeline(mailing: Mailing):
    start = mailing.submitted_at or mailing.created_at
    end = mailing.finished_at or timezone.now()
    span = max((end - start).total_seconds(), 60)
    trunc = TruncMinute if span <= 3 * 3600 else TruncHour if span <= 4 * 86400 else TruncDay
    recipients = Recipient.objects.filter(mailing=mailing)
    specs = [
        # Sent: what left the application (later delivered or bounced included).
        ("sent", _("Sent"), "", recipients.filter(status__in=[S.SENT, S.DELIVERED, S.BOUNCED]),
         "message__sent_at"),
        ("delivered", _("Delivered"), "6 3", recipients.filter(status=S.DELIVERED),
         "delivery_reported_at"),
        ("bounced", _("Bounced"), "2 3", recipients.filter(status=S.BOUNCED),
         "delivery_reported_at"),
        ("failed", _("Failed"), "10 3 2 3", recipients.filter(status=S.FAILED), "updated_at"),
    ]
    series = []
    for key, label, dash, queryset, field in specs:
        rows = (queryset.exclude(**{f"{field}__isnull": True})
                .annotate(at=trunc(field)).values("at").annotate(n=Count("pk")).order_by("at"))
        total, points = 0, [(0.0, 0)]
        for row in rows:
            total += row["n"]
            points.append((min(max((row["at"] - start).total_seconds() / span, 0), 1), total))
        points.append((1.0, total))
        series.append(_Series(key, label, dash, points))
    return series, start, start + timedelta(seconds=span)


def timeline_svg(mailing: Mailing) -> str:
    """The cumulative count of each outcome over the mailing's time, as inline SVG."""
    series, start, end = _timeline(mailing)
    top = max([1] + [s.points[-1][1] for s in series])
    width, height, left, bottom = 640, 220, 40, 30

    def point(x: float, y: int) -> str:
        return (f"{left + x * (width - left - 10):.1f},"
                f"{height - bottom - y / top * (height - bottom - 10):.1f}")

    def line(s: _Series) -> str:
        coordinates = " ".join(point(x, y) for x, y in s.points)
        return format_html('<polyline class="series-{}" points="{}" fill="none" '
                           'stroke-width="2" stroke-dasharray="{}"/>', s.key, coordinates,
                           s.dash or "none")

    summary = ", ".join(f"{s.label} {s.points[-1][1]}" for s in series)
    legend = format_html_join("", '<li><svg width="30" height="10" aria-hidden="true">'
                              '<line class="series-{}" x1="0" y1="5" x2="30" y2="5" '
                              'stroke-width="2" stroke-dasharray="{}"/></svg> {} : {}</li>',
                              ((s.key, s.dash or "none", s.label, s.points[-1][1])
                               for s in series))
    return format_html(
        '<figure class="timeline"><svg viewBox="0 0 {w} {h}" role="img" aria-label="{label}">'
        '<line class="axis" x1="{l}" y1="{base}" x2="{w}" y2="{base}"/>'
        '<line class="axis" x1="{l}" y1="10" x2="{l}" y2="{base}"/>'
        '<text x="{l}" y="{h}" class="tick">{start}</text>'
        '<text x="{w}" y="{h}" class="tick" text-anchor="end">{end}</text>'
        '<text x="{tx}" y="16" class="tick" text-anchor="end">{top}</text>{lines}</svg>'
        '<figcaption><ul class="legend">{legend}</ul></figcaption></figure>',
        w=width, h=height, l=left, base=height - bottom, tx=left - 4, top=top,
        label=_("Recipients over time: %(summary)s") % {"summary": summary},
        start=date_format(timezone.localtime(start), "SHORT_DATETIME_FORMAT"),
        end=date_format(timezone.localtime(end), "SHORT_DATETIME_FORMAT"),
        lines=format_html_join("", "{}", ((line(s),) for s in series)), legend=legend)
