"""Any MJML file as one of our templates: `nurture emails import FILE.mjml`.

Designers and galleries write placeholders in their own tool's style: `{{FirstName}}` (many
builders), `*|FNAME|*` (Mailchimp), `[[first_name]]`, `{first_name}`. Those naming something we
know become our expressions; the others are reported and left as text. Everything else that
Jinja would read as a tag (`{{`, `{%`, `{#`) is escaped, so a file can never run code in the
sandbox by accident. A marketing template without an unsubscribe link gets our footer
(unsubscribe, preferences, postal address). Pure: text in, text and a report out.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

# One pattern per placeholder style; group 1 is the name.
STYLES = (
    re.compile(r"\*\|\s*([A-Za-z][A-Za-z0-9_:]*)\s*\|\*"),  # *|FNAME|*
    re.compile(r"\{\{\s*([A-Za-z][A-Za-z0-9_. ]*?)\s*\}\}"),  # {{FirstName}}, {{ first name }}
    re.compile(r"\[\[\s*([A-Za-z][A-Za-z0-9_ ]*?)\s*\]\]"),  # [[first_name]]
    re.compile(r"(?<![{$])\{([A-Za-z][A-Za-z0-9_]*)\}(?!\})"),  # {first_name} (not CSS: no spaces, no colon)
)
# Names as written, lower-cased without separators -> our expression.
FIELDS = {
    **dict.fromkeys(("fname", "firstname", "first", "givenname", "contactfirstname"),
                    "contact.first_name | fallback('there')"),
    **dict.fromkeys(("lname", "lastname", "last", "familyname", "surname"), "contact.last_name"),
    **dict.fromkeys(("name", "fullname"), "(contact.first_name ~ ' ' ~ contact.last_name) | trim | fallback('there')"),
    **dict.fromkeys(("email", "emailaddress", "contactemail"), "contact.email"),
    **dict.fromkeys(("company", "companyname", "brand", "brandname", "store", "storename", "shop", "shopname",
                     "listcompany", "orgname"), "brand.name"),
    **dict.fromkeys(("address", "companyaddress", "postaladdress", "listaddress", "listaddresshtml"),
                    "brand.address"),
    **dict.fromkeys(("unsub", "unsubscribe", "unsubscribeurl", "unsubscribelink"), "unsubscribe_url"),
    **dict.fromkeys(("updateprofile", "preferences", "preferencesurl", "managepreferences",
                     "emailpreferences"), "preferences_url"),
}
JINJA_OPENERS = re.compile(r"\{\{|\{%|\{#")
UNTRACKED = re.compile(r"<a (?=[^>]*href=[\"']\{\{ (unsubscribe_url|preferences_url) \}\}[\"'])")
FOOTER = """
    <mj-section padding="20px 0 32px">
      <mj-column>
        <mj-text align="center" font-size="12px" color="#777777">
          {{ brand.name }} · {{ brand.address }}<br />
          <a href="{{ unsubscribe_url }}" data-untracked="unsubscribe">Unsubscribe</a>
          · <a href="{{ preferences_url }}" data-untracked="preferences">Email preferences</a>
        </mj-text>
      </mj-column>
    </mj-section>
"""


class ImportError_(ValueError):  # noqa: N801 - `ImportError` is a builtin
    """The file cannot become a template (what is wrong is in the message)."""


@dataclass
class Imported:
    source: str  # the template, ready for the templates folder as `<key>.mjml.j2`
    subject: str
    mapped: dict[str, str] = field(default_factory=dict)  # placeholder as written -> our expression
    unmapped: list[str] = field(default_factory=list)  # placeholders we could not map (left as text)
    footer_added: bool = False


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower().removeprefix("contact.").removeprefix("merge"))


def _title(source: str) -> str:
    found = re.search(r"<mj-title>(.*?)</mj-title>", source, re.S)
    return html.unescape(found.group(1).strip()) if found else ""


def _convert(text: str, report: Imported) -> str:
    """Placeholders we know to expressions, every other Jinja opener escaped."""
    spans: list[tuple[int, int, str]] = []
    for style in STYLES:
        for found in style.finditer(text):
            if any(start < found.end() and found.start() < end for start, end, _ in spans):
                continue  # inside one matched already (`{{first}}` is not also `{first}`)
            expression = FIELDS.get(_key(found.group(1)))
            if expression is None:
                report.unmapped.append(found.group(0))
                continue
            report.mapped[found.group(0)] = expression
            spans.append((found.start(), found.end(), "{{ " + expression + " }}"))
    out, last = [], 0
    for start, end, replacement in sorted(spans):
        out += [JINJA_OPENERS.sub(lambda m: "{{ '" + m.group(0) + "' }}", text[last:start]), replacement]
        last = end
    out.append(JINJA_OPENERS.sub(lambda m: "{{ '" + m.group(0) + "' }}", text[last:]))
    return "".join(out)


def import_mjml(source: str, subject: str = "", marketing: bool = True) -> Imported:
    """The MJML `source` as a template; `subject` (else the file's mj-title) becomes its subject."""
    if "<mjml" not in source or "</mj-body>" not in source:
        raise ImportError_("not an MJML document: expected <mjml> ... <mj-body> ... </mj-body> ... </mjml>")
    report = Imported(source="", subject="")
    body = _convert(source, report)
    report.subject = _convert(subject or _title(source), report).strip()
    if not report.subject:
        raise ImportError_("no subject: the file has no <mj-title>; give one with --subject")
    # Unsubscribe and preferences links keep their own (signed) target: no click redirect.
    body = UNTRACKED.sub(lambda m: f'<a data-untracked="{m.group(1).removesuffix("_url")}" ', body)
    if marketing and "unsubscribe_url" not in report.mapped.values():
        body = body.replace("</mj-body>", FOOTER + "  </mj-body>", 1)
        report.footer_added = True
    # The subject block renders nothing where it stands (`if false`); the library reads it apart.
    report.source = ("{%@ if false %}{%@ block subject %}" + report.subject + "{%@ endblock %}{%@ endif %}\n"
                     + body)
    report.unmapped = list(dict.fromkeys(report.unmapped))
    return report
