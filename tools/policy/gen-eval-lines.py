#!/usr/bin/python3
"""gen-eval-lines.py -- synthetic JSON Lines for `ladder-policy eval`.

Usage: tools/policy/gen-eval-lines.py [COUNT] [SEED] > lines.jsonl

Writes COUNT (default 100000) declarations with every Indicators field of
CONTRACT.md, values spread across the band edges of POLICY.md, and a
per-line "tier" so that one run exercises all three tiers. The same SEED
gives the same lines. Used for the eval throughput figure; not a test.
"""
import json
import random
import sys

HONOURS = ["ST_AWARD_3Y", "ST_AWARD_PROVINCIAL_TOP3_3Y", "ST_AWARD_NATIONAL_TOP5_3Y",
           "ST_AWARD_NATIONAL_TOP3_3Y", "HIGH_TECH_ENTERPRISE",
           "TECH_INNOVATION_DEMO_ENTERPRISE", "IP_ADVANTAGE_ENTERPRISE",
           "MAKER_CHINA_TOP500_3Y", "MAKER_CHINA_TOP50_3Y"]
RD = ["NONE", "BELOW_MUNICIPAL", "MUNICIPAL", "PROVINCIAL", "NATIONAL"]
TIERS = ["INNOVATIVE", "SPECIALIZED", "LITTLE_GIANT"]


def line(rng):
    revenue = rng.choice([rng.randrange(1, 50_000_000), rng.randrange(50_000_000, 100_000_000),
                          rng.randrange(100_000_000, 2_000_000_000)])
    main = revenue * rng.randrange(40, 101) // 100
    main_prev = max(1, main * rng.randrange(70, 130) // 100)
    main_prev2 = max(1, main_prev * rng.randrange(70, 130) // 100)
    employees = rng.randrange(10, 2000)
    d = {
        "years_in_niche": rng.randrange(0, 15),
        "revenue": revenue,
        "revenue_prev": revenue * rng.randrange(70, 120) // 100,
        "main_revenue": main,
        "main_revenue_prev": main_prev,
        "main_revenue_prev2": main_prev2,
        "net_profit": revenue * rng.randrange(-10, 20) // 100,
        "rd_expense": revenue * rng.randrange(0, 12) // 100,
        "rd_expense_prev": revenue * rng.randrange(0, 12) // 100,
        "employees": employees,
        "rd_staff": employees * rng.randrange(0, 60) // 100,
        "asset_liability_pct": round(rng.uniform(10, 90), 2),
        "equity_financing_2y": rng.choice([0, 0, rng.randrange(0, 100_000_000)]),
        "equity_financing_3y": rng.choice([0, 0, rng.randrange(0, 10_000_000)]),
        "niche_market_share_pct": round(rng.uniform(0, 30), 2),
        "niche_market_rank": rng.randrange(0, 10),
        "ip_class1": rng.randrange(0, 8),
        "ip_class1_high_value": rng.randrange(0, 2),
        "ip_class1_self_developed": rng.randrange(0, 3),
        "ip_class2": rng.randrange(0, 20),
        "rd_institution": rng.choice(RD),
        "digitalization_level": rng.randrange(1, 5),
        "quality_items": rng.randrange(0, 5),
        "own_brand": rng.random() < 0.8,
        "mgmt_certification": rng.random() < 0.8,
        "core_business_on_info_system": rng.random() < 0.8,
        "strategic_emerging_field": rng.random() < 0.5,
        "field_gap_filling": rng.random() < 0.3,
        "field_six_foundations": rng.random() < 0.5,
        "key_chain_link": rng.random() < 0.5,
        "honours": rng.sample(HONOURS, rng.choice([0, 0, 0, 1, 2])),
        "local_score": rng.randrange(0, 16),
        "development_score": rng.choice([None, rng.randrange(30, 100)]),
        "tier": rng.choice(TIERS),
    }
    return json.dumps(d, separators=(",", ":"))


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    out = sys.stdout
    for _ in range(count):
        out.write(line(rng))
        out.write("\n")


if __name__ == "__main__":
    main()
