"""What the page and the API show of a finding, in the reader's language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from mamori.security.present import Gettext
from mamori.security_checkup.service import Finding


@dataclass(frozen=True)
class FindingView:
    code: str
    status: str
    title: str
    fix: str | None
    fix_url: str | None


def finding_view(finding: Finding, _: Gettext) -> FindingView:
    return FindingView(
        code=finding.code,
        status=finding.status,
        title=_(finding.title, finding.plural, cast(int, finding.values["count"]), **finding.values)
        if finding.plural
        else _(finding.title, **finding.values),
        fix=_(finding.fix) if finding.fix else None,
        fix_url=finding.fix_url,
    )
