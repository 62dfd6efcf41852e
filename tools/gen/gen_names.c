/* gen_names.c -- enterprise names, region codes and USCCs for ladder-gen.
 *
 * DESIGN: identity is derived from counters, never drawn at random, so that
 * it is unique by construction: the USCC's 9-character organisation part is
 * a bijection of the enterprise's global serial number, and the name is a
 * bijection of its serial number within its reporting unit onto (city,
 * brand, industry, company form), permuted by a multiplier coprime with the
 * size of that space so that neighbours do not look alike. The region code
 * follows the unit (docs/GEN.md): a province's code plus 4 digits that never
 * start like a separately listed city inside it, a listed city's 4-digit
 * code plus 2 digits, and for the Xinjiang Corps (unit 66, no GB/T 2260 code
 * of its own) the Corps-administered city codes 659001-659010. */
#include "gen_names.h"

#include <stdio.h>
#include <string.h>

#include "ladder/alloc.h"
#include "ladder/uscc.h"

typedef struct unit_places {
    const char *code;
    const char *cities[6];
} unit_places_t;

/* Short names of cities of each unit, used in company names. */
static const unit_places_t places[] = {
    {"11", {"北京", "京海", "京北", "燕京", NULL}},
    {"12", {"天津", "津南", "滨海", "津门", NULL}},
    {"13", {"石家庄", "保定", "唐山", "廊坊", "邯郸", NULL}},
    {"14", {"太原", "大同", "长治", "晋中", NULL}},
    {"15", {"呼和浩特", "包头", "鄂尔多斯", "赤峰", NULL}},
    {"21", {"沈阳", "鞍山", "营口", "锦州", NULL}},
    {"22", {"长春", "吉林", "四平", "延吉", NULL}},
    {"23", {"哈尔滨", "齐齐哈尔", "大庆", "牡丹江", NULL}},
    {"31", {"上海", "浦江", "申城", "沪江", NULL}},
    {"32", {"南京", "苏州", "无锡", "常州", "南通", "徐州"}},
    {"33", {"杭州", "温州", "嘉兴", "绍兴", "台州", "金华"}},
    {"34", {"合肥", "芜湖", "马鞍山", "安庆", "滁州", NULL}},
    {"35", {"福州", "泉州", "漳州", "莆田", NULL}},
    {"36", {"南昌", "赣州", "九江", "上饶", NULL}},
    {"37", {"济南", "烟台", "潍坊", "淄博", "临沂", NULL}},
    {"41", {"郑州", "洛阳", "新乡", "许昌", NULL}},
    {"42", {"武汉", "襄阳", "宜昌", "荆州", NULL}},
    {"43", {"长沙", "株洲", "湘潭", "衡阳", NULL}},
    {"44", {"广州", "东莞", "佛山", "珠海", "中山", "惠州"}},
    {"45", {"南宁", "柳州", "桂林", "玉林", NULL}},
    {"46", {"海口", "三亚", "儋州", NULL}},
    {"50", {"重庆", "渝北", "两江", "永川", NULL}},
    {"51", {"成都", "绵阳", "德阳", "宜宾", NULL}},
    {"52", {"贵阳", "遵义", "六盘水", NULL}},
    {"53", {"昆明", "曲靖", "玉溪", NULL}},
    {"54", {"拉萨", "日喀则", "林芝", NULL}},
    {"61", {"西安", "宝鸡", "咸阳", "渭南", NULL}},
    {"62", {"兰州", "天水", "酒泉", NULL}},
    {"63", {"西宁", "海东", "格尔木", NULL}},
    {"64", {"银川", "石嘴山", "吴忠", NULL}},
    {"65", {"乌鲁木齐", "克拉玛依", "昌吉", "哈密", NULL}},
    {"2102", {"大连", "金州", "旅顺", NULL}},
    {"3302", {"宁波", "甬江", "北仑", "慈溪", "余姚", NULL}},
    {"3502", {"厦门", "鹭江", "翔安", NULL}},
    {"3702", {"青岛", "崂山", "胶州", "即墨", NULL}},
    {"4403", {"深圳", "南山", "宝安", "龙岗", "前海", NULL}},
    {"66", {"石河子", "阿拉尔", "图木舒克", "五家渠", "北屯", "铁门关"}},
};

/* Two characters make the brand. */
static const char *const brand1[] = {
    "华", "中", "天", "瑞", "恒", "鼎", "宏", "新", "精", "博", "联", "诚",
    "远", "泰", "科", "创", "海", "金", "银", "锐", "赛", "英", "达", "卓",
    "汇", "昊", "晶", "铭", "鑫", "宇", "凯", "康", "正", "源", "通", "明",
};
static const char *const brand2[] = {
    "芯", "峰", "盛", "信", "和", "德", "星", "光", "途", "晟", "拓", "驰",
    "睿", "智", "能", "航", "材", "微", "合", "益", "邦", "力", "威", "韵",
    "跃", "为", "实", "策", "腾", "翔", "越", "昇", "嘉", "豪", "维", "锋",
};
static const char *const industries[] = {
    "精密机械",   "电子科技",   "新材料",   "生物医药", "智能装备", "传感技术",
    "半导体",     "软件技术",   "液压科技", "光电科技", "医疗器械", "化工科技",
    "汽车零部件", "数控技术",   "环保科技", "电气",     "仪器仪表", "轴承",
    "模具",       "新能源科技", "通信技术", "机器人",   "精细化工", "检测技术",
    "特种材料",   "信息技术",   "自动化",   "热能科技", "激光技术", "铸造",
    "流体科技",   "工业软件",   "复合材料", "芯片设计", "储能科技", "纺织科技",
    "食品科技",   "农业科技",   "船舶配套", "航空部件",
};
static const char *const forms[] = {"有限公司", "股份有限公司"};

#define N_B1    LDR_ARRAY_SIZE(brand1)
#define N_B2    LDR_ARRAY_SIZE(brand2)
#define N_IND   LDR_ARRAY_SIZE(industries)
#define N_FORMS LDR_ARRAY_SIZE(forms)

static const unit_places_t *places_of(const char *code) {
    for (size_t i = 0; i < LDR_ARRAY_SIZE(places); i++)
        if (strcmp(places[i].code, code) == 0) return &places[i];
    return NULL;
}

static size_t city_count(const unit_places_t *p) {
    size_t n = 0;
    while (n < 6 && p->cities[n])
        n++;
    return n;
}

static uint64_t gcd_u64(uint64_t a, uint64_t b) {
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

void gen_names_company(const ldr_units_entry_t *unit, uint32_t n, char *buf,
                       size_t size) {
    static const char *const fallback[] = {"华夏", NULL};
    const unit_places_t *p = places_of(unit->code);
    const char *const *cities = p ? p->cities : fallback;
    size_t nc = p ? city_count(p) : 1;
    uint64_t space = (uint64_t)nc * N_B1 * N_B2 * N_IND * N_FORMS;
    /* A multiplier coprime with the space makes n -> k a bijection. */
    uint64_t mult = 2654435761u % space;
    while (mult < 2 || gcd_u64(mult, space) != 1)
        mult++;
    uint64_t k = ((uint64_t)n % space) * mult % space;
    uint64_t round = (uint64_t)n / space;
    size_t form = k % N_FORMS;
    k /= N_FORMS;
    size_t ind = k % N_IND;
    k /= N_IND;
    size_t b2 = k % N_B2;
    k /= N_B2;
    size_t b1 = k % N_B1;
    k /= N_B1;
    size_t city = (size_t)(k % nc);
    if (round == 0)
        snprintf(buf, size, "%s%s%s%s%s", cities[city], brand1[b1], brand2[b2],
                 industries[ind], forms[form]);
    else /* beyond the space (scales far above 1): a numbered brand */
        snprintf(buf, size, "%s%s%s%llu%s%s", cities[city], brand1[b1],
                 brand2[b2], (unsigned long long)round, industries[ind],
                 forms[form]);
}

/* The 4-digit city codes that live inside a province's code range and
 * belong to another unit: the province's own region codes avoid them. */
static int reserved_city(const char *province, int cc) {
    static const struct {
        const char *province;
        int city;
    } r[] = {{"21", 2}, {"33", 2}, {"35", 2}, {"37", 2}, {"44", 3}, {"65", 90}};
    for (size_t i = 0; i < LDR_ARRAY_SIZE(r); i++)
        if (strcmp(r[i].province, province) == 0 && r[i].city == cc) return 1;
    return 0;
}

void gen_names_region(const ldr_units_entry_t *unit, uint32_t pick,
                      char out[7]) {
    if (unit->kind == LDR_UNITS_KIND_CORPS) {
        snprintf(out, 7, "6590%02u", 1 + pick % 10);
    } else if (unit->code_len == 4) {
        snprintf(out, 7, "%.4s%02u", unit->code, 1 + pick % 12);
    } else {
        int cc = 1 + (int)(pick % 12);
        if (reserved_city(unit->code, cc)) cc += 12; /* 13..24: free */
        snprintf(out, 7, "%.2s%02d%02u", unit->code, cc, 1 + (pick / 12) % 9);
    }
}

/* 31^9: the number of 9-character organisation parts. */
#define ORG_SPACE UINT64_C(26439622160671)

void gen_names_uscc(const ldr_units_entry_t *unit, uint32_t region_pick,
                    uint32_t serial, char out[19]) {
    static const char alphabet[] = LDR_USCC_ALPHABET;
    char region[7];
    gen_names_region(unit, region_pick, region);
    /* 0x9E3779B1 is not a multiple of 31, so this is a bijection of the
     * serial numbers onto organisation parts. */
    uint64_t v = ((uint64_t)serial * UINT64_C(0x9E3779B1) + UINT64_C(1000003)) %
                 ORG_SPACE;
    memcpy(out, "91", 2);
    memcpy(out + 2, region, 6);
    for (int i = 16; i >= 8; i--) {
        out[i] = alphabet[v % 31];
        v /= 31;
    }
    out[17] = '0';
    out[18] = '\0';
    ldr_uscc_complete(out);
}
