/* record.h -- the plain C form of every ladder record (CONTRACT.md).
 *
 * DESIGN: the codec turns Avro bytes into these structs and back; nothing
 * outside codec.c sees an Avro-C type. Strings are (pointer, length) views:
 * in a decoded record they point into storage owned by the decoder and stay
 * valid until the next decode on the same decoder, so decoding copies no
 * string and allocates nothing in steady state. Records built by a producer
 * point at the producer's own buffers. Strings are not NUL-terminated and
 * may contain any bytes; validate.c decides what is acceptable.
 *
 * Enum values follow the symbol order of the contract, which is also the
 * order of the .avsc files; ldr_<enum>_name() and ldr_<enum>_parse() map
 * between values and symbol names. */
#ifndef LADDER_RECORD_H
#define LADDER_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ldr_str {
    const char *ptr;
    size_t len;
} ldr_str_t;

/** Builds a view of a NUL-terminated string (NULL gives the empty view). */
ldr_str_t ldr_str(const char *s);
/** Non-zero when @p a holds exactly the bytes of NUL-terminated @p s. */
int ldr_str_eq(ldr_str_t a, const char *s);

typedef enum ldr_tier {
    LDR_TIER_INNOVATIVE = 0,
    LDR_TIER_SPECIALIZED,
    LDR_TIER_LITTLE_GIANT,
    LDR_TIER__COUNT
} ldr_tier_t;

typedef enum ldr_rd_institution {
    LDR_RD_NONE = 0,
    LDR_RD_BELOW_MUNICIPAL,
    LDR_RD_MUNICIPAL,
    LDR_RD_PROVINCIAL,
    LDR_RD_NATIONAL,
    LDR_RD__COUNT
} ldr_rd_institution_t;

typedef enum ldr_honour {
    LDR_HONOUR_ST_AWARD_3Y = 0,
    LDR_HONOUR_ST_AWARD_PROVINCIAL_TOP3_3Y,
    LDR_HONOUR_ST_AWARD_NATIONAL_TOP5_3Y,
    LDR_HONOUR_ST_AWARD_NATIONAL_TOP3_3Y,
    LDR_HONOUR_HIGH_TECH_ENTERPRISE,
    LDR_HONOUR_TECH_INNOVATION_DEMO_ENTERPRISE,
    LDR_HONOUR_IP_ADVANTAGE_ENTERPRISE,
    LDR_HONOUR_MAKER_CHINA_TOP500_3Y,
    LDR_HONOUR_MAKER_CHINA_TOP50_3Y,
    LDR_HONOUR__COUNT
} ldr_honour_t;

typedef enum ldr_violation_kind {
    LDR_VIOLATION_FALSE_DECLARATION = 0,
    LDR_VIOLATION_SAFETY_ACCIDENT,
    LDR_VIOLATION_QUALITY_ACCIDENT,
    LDR_VIOLATION_ENVIRONMENTAL_ACCIDENT,
    LDR_VIOLATION_TAX_EVASION,
    LDR_VIOLATION_SERIOUS_DISHONESTY_LIST,
    LDR_VIOLATION_OTHER_ILLEGAL_ACT,
    LDR_VIOLATION__COUNT
} ldr_violation_kind_t;

typedef enum ldr_case_status {
    LDR_CASE_REPORTED = 0,
    LDR_CASE_VERIFIED,
    LDR_CASE_DISMISSED,
    LDR_CASE__COUNT
} ldr_case_status_t;

typedef enum ldr_decision_type {
    LDR_DECISION_PUBLICITY_STARTED = 0,
    LDR_DECISION_DESIGNATED,
    LDR_DECISION_REJECTED,
    LDR_DECISION_REFUSED,
    LDR_DECISION_REVIEW_DUE,
    LDR_DECISION_RENEWED,
    LDR_DECISION_REVOKED,
    LDR_DECISION_EXPIRED,
    LDR_DECISION_INVESTIGATION_OPENED,
    LDR_DECISION_INVESTIGATION_CLEARED,
    LDR_DECISION_VIOLATION_CONFIRMED,
    LDR_DECISION_CANCELLED,
    LDR_DECISION__COUNT
} ldr_decision_type_t;

/* Symbol names, in contract order, and parsing by name (-1 if unknown). */
const char *ldr_tier_name(ldr_tier_t v);
const char *ldr_rd_institution_name(ldr_rd_institution_t v);
const char *ldr_honour_name(ldr_honour_t v);
const char *ldr_violation_kind_name(ldr_violation_kind_t v);
const char *ldr_case_status_name(ldr_case_status_t v);
const char *ldr_decision_type_name(ldr_decision_type_t v);
int ldr_tier_parse(const char *s, size_t len);
int ldr_rd_institution_parse(const char *s, size_t len);
int ldr_honour_parse(const char *s, size_t len);
int ldr_violation_kind_parse(const char *s, size_t len);
int ldr_case_status_parse(const char *s, size_t len);
int ldr_decision_type_parse(const char *s, size_t len);

/** The enterprise's declaration (CONTRACT.md "Indicators"). `honours` is a
 *  set: bit (1u << ldr_honour_t) is set when the honour was declared. */
typedef struct ldr_indicators {
    int32_t years_in_niche;
    int64_t revenue;
    int64_t revenue_prev;
    int64_t main_revenue;
    int64_t main_revenue_prev;
    int64_t main_revenue_prev2;
    int64_t net_profit;
    int64_t rd_expense;
    int64_t rd_expense_prev;
    int32_t employees;
    int32_t rd_staff;
    double asset_liability_pct;
    int64_t equity_financing_2y;
    int64_t equity_financing_3y;
    double niche_market_share_pct;
    int32_t niche_market_rank;
    int32_t ip_class1;
    int32_t ip_class1_high_value;
    int32_t ip_class1_self_developed;
    int32_t ip_class2;
    ldr_rd_institution_t rd_institution;
    int32_t digitalization_level;
    int32_t quality_items;
    bool own_brand;
    bool mgmt_certification;
    bool core_business_on_info_system;
    bool strategic_emerging_field;
    bool field_gap_filling;
    bool field_six_foundations;
    bool key_chain_link;
    uint32_t honours;
    int32_t local_score;
    bool has_development_score;
    int32_t development_score;
} ldr_indicators_t;

static inline bool ldr_indicators_has_honour(const ldr_indicators_t *ind,
                                             ldr_honour_t h) {
    return (ind->honours >> (unsigned)h) & 1u;
}

typedef struct ldr_application {
    ldr_str_t event_id;
    ldr_str_t uscc;
    ldr_str_t enterprise_name;
    ldr_str_t reporting_unit;
    ldr_tier_t tier;
    int32_t batch;
    int64_t occurred_at; /* ms since the epoch, UTC */
    ldr_indicators_t indicators;
} ldr_application_t;

typedef struct ldr_review {
    ldr_str_t event_id;
    ldr_str_t uscc;
    ldr_str_t enterprise_name;
    ldr_str_t reporting_unit;
    ldr_tier_t tier;
    int64_t occurred_at;
    ldr_indicators_t indicators;
} ldr_review_t;

typedef struct ldr_violation {
    ldr_str_t event_id;
    ldr_str_t uscc;
    ldr_str_t reporting_unit;
    ldr_str_t case_id;
    ldr_violation_kind_t kind;
    ldr_case_status_t status;
    int64_t occurred_at;
    bool has_details;
    ldr_str_t details;
} ldr_violation_t;

typedef struct ldr_clock_tick {
    int64_t tick_at;
    ldr_str_t source;
} ldr_clock_tick_t;

/** Most reasons a decision may carry; more is a decode error. */
#define LDR_DECISION_REASONS_MAX 32

typedef struct ldr_decision {
    ldr_str_t decision_id;
    ldr_str_t uscc;
    ldr_str_t enterprise_name;
    ldr_str_t reporting_unit;
    bool has_tier;
    ldr_tier_t tier;
    ldr_decision_type_t decision;
    size_t reasons_count;
    ldr_str_t reasons[LDR_DECISION_REASONS_MAX];
    int64_t effective_at;
    bool has_valid_from;
    int64_t valid_from;
    bool has_valid_until;
    int64_t valid_until;
    bool has_review_deadline;
    int64_t review_deadline;
    bool has_ban_until;
    int64_t ban_until;
    bool has_case_id;
    ldr_str_t case_id;
    bool has_batch;
    int32_t batch;
    bool has_score;
    int32_t score;
    ldr_str_t policy_version;
    bool has_cause_event_id;
    ldr_str_t cause_event_id;
    ldr_str_t cause;
    int64_t decided_at;
} ldr_decision_t;

/** The record kinds, numbered as their fixed local schema ids. */
typedef enum ldr_record_kind {
    LDR_RECORD_APPLICATION = 1,
    LDR_RECORD_REVIEW = 2,
    LDR_RECORD_VIOLATION = 3,
    LDR_RECORD_CLOCK_TICK = 4,
    LDR_RECORD_DECISION = 5,
} ldr_record_kind_t;

/** Full Avro name ("ladder.v1.ApplicationSubmitted") of a record kind,
 *  or NULL for a value that is not a kind. */
const char *ldr_record_kind_fullname(ldr_record_kind_t kind);

/** One decoded record of any kind. */
typedef struct ldr_record {
    ldr_record_kind_t kind;
    union {
        ldr_application_t application;
        ldr_review_t review;
        ldr_violation_t violation;
        ldr_clock_tick_t tick;
        ldr_decision_t decision;
    } u;
} ldr_record_t;

#endif
