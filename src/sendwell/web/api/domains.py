"""``/api/v1/domains``: sending domains (``sendwell domains``): add one (DKIM keys are
generated and stored encrypted), read the DNS records to publish, check them over DNS.

Private keys never leave the server: responses carry the public DNS records only.
Reading needs ``domains:read``, adding ``domains:write``. The check asks the resolver
sendwell uses (``dns_resolver``); when DNS cannot be asked the answer is 502
``dns_unavailable`` rather than a failed check.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from sendwell.app import App
from sendwell.domains.records import DnsRecordSpec
from sendwell.domains.store import SendingDomain, add_domain, all_domains, get_domain
from sendwell.web.api.common import ERRORS, NO_NUL, Page, Paging, next_cursor, paging
from sendwell.web.auth import get_app, require_scope

router = APIRouter(tags=["domains"], responses=ERRORS)
READ = [Depends(require_scope("domains:read"))]
DomainName = Path(min_length=1, max_length=253, pattern=NO_NUL, description="e.g. example.com")


class RecordOut(BaseModel):
    name: str = Field(description="Owner name, without the trailing dot.")
    type: str
    value: str = Field(description="The record's value as one string.")
    zone_line: str = Field(description="The record as a zone-file line (TXT split in 255s).")
    purpose: str


class DomainOut(BaseModel):
    domain: str
    selector: str
    ed25519_selector: str | None
    created_at: datetime


class DomainDetail(DomainOut):
    records: list[RecordOut] = Field(description="The DNS records to publish.")


class DomainIn(BaseModel):
    domain: str = Field(min_length=1, max_length=253, pattern=NO_NUL)
    selector: str = Field("sw1", min_length=1, max_length=63, pattern=NO_NUL)
    ed25519: bool = Field(False, description="Also an Ed25519 key (RFC 8463), a second signature.")


class FindingOut(BaseModel):
    check: str
    ok: bool
    detail: str
    fix: str


class CheckOut(BaseModel):
    domain: str
    ok: bool = Field(description="True when every check passed.")
    findings: list[FindingOut]


def _record(r: DnsRecordSpec) -> RecordOut:
    return RecordOut(
        name=r.name, type=r.rtype, value=r.value, zone_line=r.zone_line, purpose=r.purpose
    )


def _out(d: SendingDomain) -> DomainOut:
    return DomainOut(
        domain=d.domain, selector=d.selector, ed25519_selector=d.ed25519_selector,
        created_at=d.created_at,
    )  # fmt: skip


def _detail(a: App, d: SendingDomain) -> DomainDetail:
    return DomainDetail(**_out(d).model_dump(), records=[_record(r) for r in a.domain_records(d)])


@router.get("/domains", dependencies=READ)
def list_domains(page: Paging = Depends(paging), a: App = Depends(get_app)) -> Page[DomainOut]:
    """Sending domains with their DKIM selectors, in the order they were added."""
    with a.engine.connect() as conn:
        rows = sorted((d for d in all_domains(conn) if d.id > page.after), key=lambda d: d.id)
    chosen = rows[: page.limit]
    return Page(
        items=[_out(d) for d in chosen], next_cursor=next_cursor([d.id for d in chosen], page.limit)
    )


@router.post("/domains", status_code=201, dependencies=[Depends(require_scope("domains:write"))])
def post_domain(body: DomainIn, a: App = Depends(get_app)) -> DomainDetail:
    """Add a domain: generate its DKIM keys and answer with the records to publish."""
    with a.engine.begin() as conn:
        d = add_domain(
            conn, body.domain, selector=body.selector, ed25519=body.ed25519,
            secret_key=a.secret_key(), now=a.clock.now(),
        )  # fmt: skip
    return _detail(a, d)


@router.get("/domains/{domain}", dependencies=READ)
def get_one(domain: str = DomainName, a: App = Depends(get_app)) -> DomainDetail:
    """One domain and the DNS records it needs."""
    with a.engine.connect() as conn:
        return _detail(a, get_domain(conn, domain))


@router.get("/domains/{domain}/check", dependencies=READ)
def check(domain: str = DomainName, a: App = Depends(get_app)) -> CheckOut:
    """Ask DNS whether SPF covers the sending sources, the DKIM keys match, DMARC aligns."""
    with a.engine.connect() as conn:
        d = get_domain(conn, domain)
    findings = a.check_sending_domain(d)
    return CheckOut(
        domain=d.domain,
        ok=all(f.ok for f in findings),
        findings=[FindingOut(check=f.check, ok=f.ok, detail=f.detail, fix=f.fix) for f in findings],
    )
