"""Admin pages for sending domains: add one, see the DNS records to publish, check them.

Adding generates the DKIM keys (stored encrypted; private keys are never shown). The
domain page lists each record as a zone-file line ready to paste, and "Check DNS" asks
the resolver sendwell uses whether SPF, DKIM and DMARC are published as they should be
(a read-only GET; a DNS server that cannot answer is reported as such).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from sendwell.app import App
from sendwell.domains.check import DnsCheckError, Finding
from sendwell.domains.store import add_domain, all_domains, get_domain
from sendwell.errors import ConflictError, InvalidInput
from sendwell.web.auth import check_csrf, current_session, get_app
from sendwell.web.sessions import Session
from sendwell.web.templating import render

router = APIRouter()
DomainName = Path(min_length=1, max_length=253)


def _list_page(
    request: Request, session: Session, a: App, error: str = "", status: int = 200
) -> Response:
    with a.engine.connect() as conn:
        rows = all_domains(conn)
    return render(request, "domains.html", session, status, rows=rows, error=error)


@router.get("/domains")
def domains_page(
    request: Request, session: Session = Depends(current_session), a: App = Depends(get_app)
) -> Response:
    return _list_page(request, session, a)


@router.post("/domains")
def add(
    request: Request,
    domain: str = Form("", max_length=253),
    selector: str = Form("sw1", max_length=63),
    ed25519: bool = Form(False),
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
) -> Response:
    try:
        with a.engine.begin() as conn:
            d = add_domain(
                conn, domain, selector=selector.strip() or "sw1", ed25519=ed25519,
                secret_key=a.secret_key(), now=a.clock.now(),
            )  # fmt: skip
    except (InvalidInput, ConflictError) as exc:
        return _list_page(request, session, a, str(exc), 422)
    return RedirectResponse(f"/admin/domains/{d.domain}", status_code=303)


@router.get("/domains/{domain}")
def domain_page(
    request: Request,
    domain: str = DomainName,
    check: bool = Query(False),
    session: Session = Depends(current_session),
    a: App = Depends(get_app),
) -> Response:
    with a.engine.connect() as conn:
        d = get_domain(conn, domain)
    findings: list[Finding] = []
    dns_error = ""
    if check:
        try:
            findings = a.check_sending_domain(d)
        except DnsCheckError as exc:
            dns_error = str(exc)
    return render(
        request, "domain.html", session, d=d, records=a.domain_records(d), check=check,
        findings=findings, dns_error=dns_error,
    )  # fmt: skip
