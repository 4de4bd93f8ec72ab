"""A worker process for the concurrency test: ingest a list of responses, recording some invoices on the way.

    python -m tests.tracker._worker URL PLAN.json
"""

from __future__ import annotations

import datetime as dt
import json
import sys

from peppol_response.tracker import Tracker

from .conftest import BUYER, SELLER, response

BASE = dt.date(2026, 3, 2)


def main() -> None:
    url, plan_file = sys.argv[1], sys.argv[2]
    with open(plan_file) as f:
        plan = json.load(f)
    with Tracker(url) as tracker:
        for step in plan:
            if step["op"] == "record":
                tracker.record_invoice(seller=SELLER, buyer=BUYER, invoice_id=step["doc"], issue_date=BASE)
            else:
                models = [response(r["rid"], r["code"], doc=r["doc"], partial=r["partial"],
                                   day=BASE + dt.timedelta(days=r["day"])) for r in step["responses"]]
                tracker.ingest_many(models)


if __name__ == "__main__":
    main()
