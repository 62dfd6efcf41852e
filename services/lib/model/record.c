/* record.c -- symbol tables of the contract's enums. */
#include "ladder/record.h"

#include "ladder/alloc.h"
#include <string.h>

ldr_str_t ldr_str(const char *s) {
    ldr_str_t v = {s ? s : "", s ? strlen(s) : 0};
    return v;
}

int ldr_str_eq(ldr_str_t a, const char *s) {
    size_t n = strlen(s);
    return a.len == n && (n == 0 || memcmp(a.ptr, s, n) == 0);
}

static const char *const ldr_tier_names[] = {"INNOVATIVE", "SPECIALIZED",
                                             "LITTLE_GIANT"};
static const char *const ldr_rd_institution_names[] = {
    "NONE", "BELOW_MUNICIPAL", "MUNICIPAL", "PROVINCIAL", "NATIONAL"};
static const char *const ldr_honour_names[] = {
    "ST_AWARD_3Y",
    "ST_AWARD_PROVINCIAL_TOP3_3Y",
    "ST_AWARD_NATIONAL_TOP5_3Y",
    "ST_AWARD_NATIONAL_TOP3_3Y",
    "HIGH_TECH_ENTERPRISE",
    "TECH_INNOVATION_DEMO_ENTERPRISE",
    "IP_ADVANTAGE_ENTERPRISE",
    "MAKER_CHINA_TOP500_3Y",
    "MAKER_CHINA_TOP50_3Y"};
static const char *const ldr_violation_kind_names[] = {
    "FALSE_DECLARATION",      "SAFETY_ACCIDENT", "QUALITY_ACCIDENT",
    "ENVIRONMENTAL_ACCIDENT", "TAX_EVASION",     "SERIOUS_DISHONESTY_LIST",
    "OTHER_ILLEGAL_ACT"};
static const char *const ldr_case_status_names[] = {"REPORTED", "VERIFIED",
                                                    "DISMISSED"};
static const char *const ldr_decision_type_names[] = {"PUBLICITY_STARTED",
                                                      "DESIGNATED",
                                                      "REJECTED",
                                                      "REFUSED",
                                                      "REVIEW_DUE",
                                                      "RENEWED",
                                                      "REVOKED",
                                                      "EXPIRED",
                                                      "INVESTIGATION_OPENED",
                                                      "INVESTIGATION_CLEARED",
                                                      "VIOLATION_CONFIRMED",
                                                      "CANCELLED"};

_Static_assert(LDR_ARRAY_SIZE(ldr_tier_names) == LDR_TIER__COUNT, "tier");
_Static_assert(LDR_ARRAY_SIZE(ldr_rd_institution_names) == LDR_RD__COUNT, "rd");
_Static_assert(LDR_ARRAY_SIZE(ldr_honour_names) == LDR_HONOUR__COUNT, "honour");
_Static_assert(LDR_ARRAY_SIZE(ldr_violation_kind_names) == LDR_VIOLATION__COUNT,
               "kind");
_Static_assert(LDR_ARRAY_SIZE(ldr_case_status_names) == LDR_CASE__COUNT,
               "case");
_Static_assert(LDR_ARRAY_SIZE(ldr_decision_type_names) == LDR_DECISION__COUNT,
               "decision");

static int record_enum_parse(const char *const *names, int n, const char *s,
                             size_t len) {
    for (int i = 0; i < n; i++)
        if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0) return i;
    return -1;
}

#define LDR_ENUM_FUNCS(fn, type, names, count)                                 \
    const char *ldr_##fn##_name(type v) {                                      \
        return ((int)v >= 0 && (int)v < (count)) ? names[v] : "?";             \
    }                                                                          \
    int ldr_##fn##_parse(const char *s, size_t len) {                          \
        return record_enum_parse(names, (count), s, len);                      \
    }

LDR_ENUM_FUNCS(tier, ldr_tier_t, ldr_tier_names, LDR_TIER__COUNT)
LDR_ENUM_FUNCS(rd_institution, ldr_rd_institution_t, ldr_rd_institution_names,
               LDR_RD__COUNT)
LDR_ENUM_FUNCS(honour, ldr_honour_t, ldr_honour_names, LDR_HONOUR__COUNT)
LDR_ENUM_FUNCS(violation_kind, ldr_violation_kind_t, ldr_violation_kind_names,
               LDR_VIOLATION__COUNT)
LDR_ENUM_FUNCS(case_status, ldr_case_status_t, ldr_case_status_names,
               LDR_CASE__COUNT)
LDR_ENUM_FUNCS(decision_type, ldr_decision_type_t, ldr_decision_type_names,
               LDR_DECISION__COUNT)

const char *ldr_record_kind_fullname(ldr_record_kind_t kind) {
    switch (kind) {
    case LDR_RECORD_APPLICATION: return "ladder.v1.ApplicationSubmitted";
    case LDR_RECORD_REVIEW: return "ladder.v1.ReviewSubmitted";
    case LDR_RECORD_VIOLATION: return "ladder.v1.ViolationReported";
    case LDR_RECORD_CLOCK_TICK: return "ladder.v1.ClockTick";
    case LDR_RECORD_DECISION: return "ladder.v1.DesignationDecision";
    }
    return NULL;
}
