/* indicators.c -- the indicator fields of an enterprise (indicators.h).
 *
 * DESIGN: the fields are one table of name, type and offset, and setting a
 * field from JSON, writing the indicators as JSON and finding a field by
 * name all walk that table, so adding an indicator is one row and no reader
 * or writer can forget it. A JSON value of the wrong type or out of range is
 * refused with the field's name, because these values come from producers
 * outside ladder. */
#include "ladder/indicators.h"

#include <stdint.h>
#include <string.h>

#define FLD(name, type)                                                        \
    { #name, type, offsetof(ldr_indicators_t, name) }
const ldr_indicator_field_t ldr_indicators_fields[LDR_INDICATORS_FIELD_COUNT] =
    {
        FLD(years_in_niche, LDR_IND_I32),
        FLD(revenue, LDR_IND_I64),
        FLD(revenue_prev, LDR_IND_I64),
        FLD(main_revenue, LDR_IND_I64),
        FLD(main_revenue_prev, LDR_IND_I64),
        FLD(main_revenue_prev2, LDR_IND_I64),
        FLD(net_profit, LDR_IND_I64),
        FLD(rd_expense, LDR_IND_I64),
        FLD(rd_expense_prev, LDR_IND_I64),
        FLD(employees, LDR_IND_I32),
        FLD(rd_staff, LDR_IND_I32),
        FLD(asset_liability_pct, LDR_IND_DOUBLE),
        FLD(equity_financing_2y, LDR_IND_I64),
        FLD(equity_financing_3y, LDR_IND_I64),
        FLD(niche_market_share_pct, LDR_IND_DOUBLE),
        FLD(niche_market_rank, LDR_IND_I32),
        FLD(ip_class1, LDR_IND_I32),
        FLD(ip_class1_high_value, LDR_IND_I32),
        FLD(ip_class1_self_developed, LDR_IND_I32),
        FLD(ip_class2, LDR_IND_I32),
        FLD(rd_institution, LDR_IND_RD_INSTITUTION),
        FLD(digitalization_level, LDR_IND_I32),
        FLD(quality_items, LDR_IND_I32),
        FLD(own_brand, LDR_IND_BOOL),
        FLD(mgmt_certification, LDR_IND_BOOL),
        FLD(core_business_on_info_system, LDR_IND_BOOL),
        FLD(strategic_emerging_field, LDR_IND_BOOL),
        FLD(field_gap_filling, LDR_IND_BOOL),
        FLD(field_six_foundations, LDR_IND_BOOL),
        FLD(key_chain_link, LDR_IND_BOOL),
        FLD(honours, LDR_IND_HONOURS),
        FLD(local_score, LDR_IND_I32),
        FLD(development_score, LDR_IND_DEVELOPMENT_SCORE),
};
#undef FLD

int ldr_indicators_field_find(const char *name, size_t len) {
    for (size_t f = 0; f < LDR_INDICATORS_FIELD_COUNT; f++)
        if (strlen(ldr_indicators_fields[f].name) == len &&
            memcmp(ldr_indicators_fields[f].name, name, len) == 0)
            return (int)f;
    return -1;
}

const char *ldr_json_type_name(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number with a fraction";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

ldr_err_t ldr_indicators_set_json(ldr_indicators_t *ind, size_t field,
                                  const json_t *v, char *errstr, size_t n) {
    const ldr_indicator_field_t *fd = &ldr_indicators_fields[field];
    char *p = (char *)ind + fd->off;
    const char *name = fd->name;
    switch (fd->type) {
    case LDR_IND_I32:
    case LDR_IND_I64: {
        if (!json_is_integer(v))
            return ldr_err_set(errstr, n, LDR_ERR_INVALID_FIELD,
                               "field '%s': expected an integer, found %s",
                               name, ldr_json_type_name(v));
        json_int_t x = json_integer_value(v);
        if (fd->type == LDR_IND_I32) {
            if (x < INT32_MIN || x > INT32_MAX)
                return ldr_err_set(errstr, n, LDR_ERR_INVALID_FIELD,
                                   "field '%s': %lld does not fit in an int",
                                   name, (long long)x);
            int32_t y = (int32_t)x;
            memcpy(p, &y, sizeof y);
        } else {
            int64_t y = (int64_t)x;
            memcpy(p, &y, sizeof y);
        }
        return LDR_OK;
    }
    case LDR_IND_DOUBLE: {
        if (!json_is_number(v))
            return ldr_err_set(errstr, n, LDR_ERR_INVALID_FIELD,
                               "field '%s': expected a number, found %s", name,
                               ldr_json_type_name(v));
        double d = json_number_value(v);
        memcpy(p, &d, sizeof d);
        return LDR_OK;
    }
    case LDR_IND_BOOL: {
        if (!json_is_boolean(v))
            return ldr_err_set(errstr, n, LDR_ERR_INVALID_FIELD,
                               "field '%s': expected true or false, found %s",
                               name, ldr_json_type_name(v));
        bool b = json_is_true(v);
        memcpy(p, &b, sizeof b);
        return LDR_OK;
    }
    case LDR_IND_RD_INSTITUTION: {
        const char *s = json_string_value(v);
        int r = s ? ldr_rd_institution_parse(s, json_string_length(v)) : -1;
        if (r < 0)
            return ldr_err_set(errstr, n, LDR_ERR_INVALID_FIELD,
                               "field '%s': expected one of NONE, "
                               "BELOW_MUNICIPAL, MUNICIPAL, PROVINCIAL, "
                               "NATIONAL",
                               name);
        ind->rd_institution = (ldr_rd_institution_t)r;
        return LDR_OK;
    }
    case LDR_IND_HONOURS: {
        if (!json_is_array(v))
            return ldr_err_set(
                errstr, n, LDR_ERR_INVALID_FIELD,
                "field '%s': expected an array of Honour names, found %s", name,
                ldr_json_type_name(v));
        ind->honours = 0;
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *e = json_array_get(v, i);
            const char *s = json_string_value(e);
            int h = s ? ldr_honour_parse(s, json_string_length(e)) : -1;
            if (h < 0)
                return ldr_err_set(errstr, n, LDR_ERR_INVALID_FIELD,
                                   "field '%s'[%zu]: not an Honour name", name,
                                   i);
            ind->honours |= 1u << h;
        }
        return LDR_OK;
    }
    case LDR_IND_DEVELOPMENT_SCORE:
        if (json_is_null(v)) {
            ind->has_development_score = false;
            return LDR_OK;
        }
        if (!json_is_integer(v) || json_integer_value(v) < INT32_MIN ||
            json_integer_value(v) > INT32_MAX)
            return ldr_err_set(
                errstr, n, LDR_ERR_INVALID_FIELD,
                "field '%s': expected an integer or null, found %s", name,
                ldr_json_type_name(v));
        ind->has_development_score = true;
        ind->development_score = (int32_t)json_integer_value(v);
        return LDR_OK;
    }
    return ldr_err_set(errstr, n, LDR_ERR_INVALID_ARG, "field '%s': no type",
                       name);
}

json_t *ldr_indicators_to_json(const ldr_indicators_t *ind) {
    json_t *o = json_object();
    for (size_t f = 0; f < LDR_INDICATORS_FIELD_COUNT; f++) {
        const ldr_indicator_field_t *fd = &ldr_indicators_fields[f];
        const char *p = (const char *)ind + fd->off;
        json_t *v = NULL;
        switch (fd->type) {
        case LDR_IND_I32: {
            int32_t x;
            memcpy(&x, p, sizeof x);
            v = json_integer(x);
            break;
        }
        case LDR_IND_I64: {
            int64_t x;
            memcpy(&x, p, sizeof x);
            v = json_integer(x);
            break;
        }
        case LDR_IND_DOUBLE: {
            double x;
            memcpy(&x, p, sizeof x);
            v = json_real(x);
            break;
        }
        case LDR_IND_BOOL: {
            bool x;
            memcpy(&x, p, sizeof x);
            v = json_boolean(x);
            break;
        }
        case LDR_IND_RD_INSTITUTION:
            v = json_string(ldr_rd_institution_name(ind->rd_institution));
            break;
        case LDR_IND_HONOURS:
            v = json_array();
            for (int h = 0; h < LDR_HONOUR__COUNT; h++)
                if ((ind->honours >> h) & 1u)
                    json_array_append_new(v, json_string(ldr_honour_name(h)));
            break;
        case LDR_IND_DEVELOPMENT_SCORE:
            v = ind->has_development_score
                    ? json_integer(ind->development_score)
                    : json_null();
            break;
        }
        json_object_set_new(o, fd->name, v);
    }
    return o;
}
