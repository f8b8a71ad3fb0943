"""A deterministic synthetic corpus of company-like sentences (for the scale benchmark)."""

from __future__ import annotations

import random

SUBJECTS = ["The account manager", "The field service engineer", "HR", "The finance team", "The sales team",
            "The Shanghai office", "The Beijing office", "The Shenzhen office", "Marketing", "The help desk",
            "The trainer", "Procurement", "The warehouse", "Legal", "The product manager", "Customer support",
            "The regional director", "IT operations", "Quality assurance", "The logistics partner"]
VERBS = ["opens a service request for", "schedules an on-site visit about", "approves the expense claim for",
         "publishes the training plan for", "reviews the toner yield of", "prepares the trade show booth for",
         "updates the price list of", "tracks the RMA for", "checks the SLA of", "explains the secure release of",
         "archives the signed contract for", "renews the maintenance contract of", "audits the invoices for",
         "escalates the complaint about", "forecasts the quarterly demand for", "documents the installation of",
         "reports a firmware defect in", "negotiates the discount on", "ships replacement parts for",
         "trains new dealers on"]
OBJECTS = ["the SL-500 colour laser printer", "Guardia secure printing", "the GWS workflow suite",
           "managed print services", "the eSign contract platform", "the AIP trade show", "ESS self-service training",
           "tier-1 city customers", "Springlake toner cartridges", "the scan-to-archive module", "badge readers",
           "the MPS billing report", "the dealer network", "the spare parts warehouse", "the CRM system",
           "the OA approval flow", "hotel expenses", "the annual budget", "the service level agreement",
           "the customer satisfaction survey"]
CONTEXTS = ["before the end of the month", "within 24 hours", "for the east China region", "after the audit",
            "during the product launch", "for key accounts", "in the new fiscal year", "at the customer's site",
            "for small and medium businesses", "under the new policy", "for the Guangzhou branch",
            "with the partner in Chengdu", "ahead of the AIP show", "for the public sector tender",
            "after the firmware update", "for contracts billed per page"]


def sentences(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        out.append(f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(CONTEXTS)}, "
                   f"ticket {rng.randrange(10**6):06d}, {rng.choice(['priority', 'routine', 'urgent', 'follow-up'])}.")
    return out


def queries(n: int, seed: int = 11) -> list[str]:
    """Paraphrase-like questions over the same vocabulary (not copies of corpus sentences)."""
    rng = random.Random(seed)
    forms = ["Who {v} {o}?", "When does {s} {v} {o}?", "How is {o} handled {c}?", "{s} and {o} {c}"]
    out = []
    for _ in range(n):
        verb = rng.choice(VERBS)
        out.append(rng.choice(forms).format(s=rng.choice(SUBJECTS).lower(), v=verb.split(" ")[0].rstrip("s"),
                                            o=rng.choice(OBJECTS), c=rng.choice(CONTEXTS)))
    return out
