"""Building blocks for the worker's story feeds (imported by the tests).

uscc(body17) completes a USCC with its GB 32100-2015 check character.
STRONG passes all three tiers under miit-2022 (INNOVATIVE score 95,
SPECIALIZED score 88) and every LITTLE_GIANT rule of miit-2026 but
LG.DEVELOPMENT_SCORE; STRONG26 passes miit-2026 LITTLE_GIANT too; WEAK
fails every tier (INNOVATIVE score 5, SPECIALIZED score 40).
"""

ALPHA = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc(body17):
    s = sum(ALPHA.index(c) * w for c, w in zip(body17, WEIGHTS))
    return body17 + ALPHA[(31 - s % 31) % 31]


STRONG = dict(years_in_niche=5, revenue=200000000, revenue_prev=180000000,
              main_revenue=180000000, main_revenue_prev=160000000,
              main_revenue_prev2=140000000, net_profit=20000000,
              rd_expense=10000000, rd_expense_prev=9000000, employees=300,
              rd_staff=60, asset_liability_pct=45.5, equity_financing_2y=0,
              equity_financing_3y=0, niche_market_share_pct=15.0,
              niche_market_rank=2, ip_class1=5, ip_class1_high_value=1,
              ip_class1_self_developed=3, ip_class2=10,
              rd_institution="PROVINCIAL", digitalization_level=3,
              quality_items=3, own_brand=True, mgmt_certification=True,
              core_business_on_info_system=True, strategic_emerging_field=True,
              field_gap_filling=False, field_six_foundations=True,
              key_chain_link=True, honours=[], local_score=10,
              development_score=None)
STRONG26 = dict(STRONG, development_score=75)
WEAK = dict(STRONG, rd_institution="NONE", ip_class1_high_value=0,
            ip_class1_self_developed=0, ip_class1=0, ip_class2=0,
            rd_expense=0, rd_expense_prev=0, main_revenue=0,
            strategic_emerging_field=False, asset_liability_pct=90.0)
