/* DynamoDB numbers: exact decimals of up to 38 significant digits.
 *
 * A number is kept as its significant digits and a decimal exponent, so comparison and
 * addition are exact digit arithmetic and never pass through a double (a double would
 * merge 12345678901234567890.1 and 12345678901234567890.2). The sort-key encoding puts the
 * sign class first, then the exponent, then the digits two to a byte, inverting everything
 * for negatives so that plain memcmp orders encodings like their numbers.
 */
#include "table/expr.h"

#include <string.h>

enum {
    NUM_CLASS_NEG = 0x01,
    NUM_CLASS_ZERO = 0x02,
    NUM_CLASS_POS = 0x03,
    NUM_NEG_END = 0xFF,        /* terminator after a negative's digits: sorts after them */
    NUM_EXP_BIAS = 130,        /* scientific exponent -130..125 -> byte 0..255 */
    NUM_EXP_SATURATE = 100000, /* larger exponents are all "overflow" anyway */
    /* Widest aligned sum: both exponents span the full range plus 38 digits and a carry. */
    NUM_WORK_DIGITS = TBL_NUM_MAX_DIGITS * 2 + (TBL_NUM_EXP_MAX - TBL_NUM_EXP_MIN) + 4,
};

static bool num_not_a_number(const char *text, sp_err *e)
{
    sp_err_invalid(e, "The parameter cannot be converted to a numeric value: %.64s", text);
    return false;
}

/* Shared tail of parsing and arithmetic: digits (most significant first, may carry leading
 * and trailing zeros) times 10^exp as 0.ddd form; checks DynamoDB's limits. */
static bool num_finish(bool neg, const uint8_t *d, size_t n, long exp, tbl_num *out, sp_err *e)
{
    while (n > 0 && d[0] == 0) { d++; n--; exp--; }
    while (n > 0 && d[n - 1] == 0) n--;
    memset(out, 0, sizeof *out);
    if (n == 0) return true;   /* zero: no sign, no exponent */
    if (exp - 1 > TBL_NUM_EXP_MAX) {
        sp_err_invalid(e, "Number overflow. Attempting to store a number with magnitude larger "
                          "than supported range");
        return false;
    }
    if (exp - 1 < TBL_NUM_EXP_MIN) {
        sp_err_invalid(e, "Number underflow. Attempting to store a number with magnitude "
                          "smaller than supported range");
        return false;
    }
    if (n > TBL_NUM_MAX_DIGITS) {
        sp_err_invalid(e, "Attempting to store more than 38 significant digits in a Number");
        return false;
    }
    out->neg = neg;
    out->ndigits = (uint8_t)n;
    out->exp = (int)exp;
    memcpy(out->digits, d, n);
    return true;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool tbl_num_parse(const char *text, tbl_num *out, sp_err *e)
{
    uint8_t d[TBL_NUM_INPUT_MAX];
    size_t n = 0, len = strlen(text);
    long nint = 0, exp10 = 0;
    const char *p = text;
    bool neg = false, any = false;

    if (len == 0 || len > TBL_NUM_INPUT_MAX) return num_not_a_number(text, e);
    if (*p == '+' || *p == '-') neg = *p++ == '-';
    for (; is_digit(*p); p++, any = true) { d[n++] = (uint8_t)(*p - '0'); nint++; }
    if (*p == '.') {
        for (p++; is_digit(*p); p++, any = true) d[n++] = (uint8_t)(*p - '0');
    }
    if (!any) return num_not_a_number(text, e);
    if (*p == 'e' || *p == 'E') {
        bool eneg = false, edig = false;
        p++;
        if (*p == '+' || *p == '-') eneg = *p++ == '-';
        for (; is_digit(*p); p++, edig = true)
            if (exp10 < NUM_EXP_SATURATE) exp10 = exp10 * 10 + (*p - '0');
        if (!edig) return num_not_a_number(text, e);
        if (eneg) exp10 = -exp10;
    }
    if (*p) return num_not_a_number(text, e);
    return num_finish(neg, d, n, nint + exp10, out, e);
}

void tbl_num_format(const tbl_num *n, char out[TBL_NUM_STR_MAX])
{
    char *o = out;
    if (n->ndigits == 0) { strcpy(out, "0"); return; }
    if (n->neg) *o++ = '-';
    if (n->exp <= 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -n->exp; i++) *o++ = '0';
        for (int i = 0; i < n->ndigits; i++) *o++ = (char)('0' + n->digits[i]);
    } else {
        for (int i = 0; i < n->ndigits || i < n->exp; i++) {
            if (i == n->exp) *o++ = '.';
            *o++ = (char)('0' + (i < n->ndigits ? n->digits[i] : 0));
        }
    }
    *o = '\0';
}

bool tbl_num_normalize(const char *text, char out[TBL_NUM_STR_MAX], sp_err *e)
{
    tbl_num n;
    if (!tbl_num_parse(text, &n, e)) return false;
    tbl_num_format(&n, out);
    return true;
}

/* Magnitude comparison of two non-zero numbers. */
static int num_cmp_abs(const tbl_num *a, const tbl_num *b)
{
    if (a->exp != b->exp) return a->exp < b->exp ? -1 : 1;
    for (int i = 0; i < a->ndigits && i < b->ndigits; i++)
        if (a->digits[i] != b->digits[i]) return a->digits[i] < b->digits[i] ? -1 : 1;
    return (a->ndigits > b->ndigits) - (a->ndigits < b->ndigits);
}

int tbl_num_cmp(const tbl_num *a, const tbl_num *b)
{
    int sa = a->ndigits == 0 ? 0 : a->neg ? -1 : 1;
    int sb = b->ndigits == 0 ? 0 : b->neg ? -1 : 1;
    if (sa != sb) return sa < sb ? -1 : 1;
    if (sa == 0) return 0;
    int c = num_cmp_abs(a, b);
    return sa < 0 ? -c : c;
}

/* Writes n's digits into w (width digits, w[0] worth 10^(top-1)). */
static void num_spread(const tbl_num *n, uint8_t *w, long top)
{
    for (int i = 0; i < n->ndigits; i++) w[top - n->exp + i] = n->digits[i];
}

static bool num_addsub(const tbl_num *a, const tbl_num *b, bool negate_b, tbl_num *out,
                       sp_err *e)
{
    uint8_t x[NUM_WORK_DIGITS] = {0}, y[NUM_WORK_DIGITS] = {0}, r[NUM_WORK_DIGITS] = {0};
    bool bneg = b->neg != negate_b;
    tbl_num bb = *b;
    if (b->ndigits == 0) { *out = *a; return true; }
    if (a->ndigits == 0) { *out = bb; out->neg = bneg; return true; }

    /* One leading slot for the carry; position 0 is worth 10^top. */
    long top = (a->exp > b->exp ? a->exp : b->exp) + 1;
    long bottom_a = a->exp - a->ndigits, bottom_b = b->exp - b->ndigits;
    long bottom = bottom_a < bottom_b ? bottom_a : bottom_b;
    size_t width = (size_t)(top - bottom);
    num_spread(a, x, top);
    num_spread(b, y, top);

    bool rneg;
    if (a->neg == bneg) {
        int carry = 0;
        for (size_t i = width; i-- > 0;) {
            int s = x[i] + y[i] + carry;
            r[i] = (uint8_t)(s % 10);
            carry = s / 10;
        }
        rneg = a->neg;
    } else {
        int c = num_cmp_abs(a, &bb);
        if (c == 0) { memset(out, 0, sizeof *out); return true; }
        uint8_t *big = c > 0 ? x : y, *small = c > 0 ? y : x;
        int borrow = 0;
        for (size_t i = width; i-- > 0;) {
            int s = big[i] - small[i] - borrow;
            borrow = s < 0;
            r[i] = (uint8_t)(s + (borrow ? 10 : 0));
        }
        rneg = c > 0 ? a->neg : bneg;
    }
    return num_finish(rneg, r, width, top, out, e);
}

bool tbl_num_add(const tbl_num *a, const tbl_num *b, tbl_num *out, sp_err *e)
{
    return num_addsub(a, b, false, out, e);
}

bool tbl_num_sub(const tbl_num *a, const tbl_num *b, tbl_num *out, sp_err *e)
{
    return num_addsub(a, b, true, out, e);
}

size_t tbl_num_encode(const tbl_num *n, uint8_t out[TBL_NUM_KEY_MAX])
{
    size_t len = 0;
    if (n->ndigits == 0) {
        out[len++] = NUM_CLASS_ZERO;
        return len;
    }
    uint8_t flip = n->neg ? 0xFF : 0x00;
    out[len++] = n->neg ? NUM_CLASS_NEG : NUM_CLASS_POS;
    out[len++] = (uint8_t)((n->exp - 1 + NUM_EXP_BIAS) ^ flip);
    /* Pairs as 1 + 10*hi + lo (1..100): never 0x00, so inverted never 0xFF. */
    for (int i = 0; i < n->ndigits; i += 2) {
        int lo = i + 1 < n->ndigits ? n->digits[i + 1] : 0;
        out[len++] = (uint8_t)((1 + 10 * n->digits[i] + lo) ^ flip);
    }
    if (n->neg) out[len++] = NUM_NEG_END;
    return len;
}

bool tbl_num_decode(const uint8_t *in, size_t len, tbl_num *out)
{
    memset(out, 0, sizeof *out);
    if (len == 1 && in[0] == NUM_CLASS_ZERO) return true;
    if (len < 3 || (in[0] != NUM_CLASS_NEG && in[0] != NUM_CLASS_POS)) return false;
    bool neg = in[0] == NUM_CLASS_NEG;
    uint8_t flip = neg ? 0xFF : 0x00;
    size_t end = len;
    if (neg) {
        if (in[len - 1] != NUM_NEG_END) return false;
        end--;
    }
    if (end - 2 > (TBL_NUM_MAX_DIGITS + 1) / 2 || end <= 2) return false;
    out->neg = neg;
    out->exp = (int)(in[1] ^ flip) - NUM_EXP_BIAS + 1;
    for (size_t i = 2; i < end; i++) {
        int v = (in[i] ^ flip) - 1;
        if (v < 0 || v > 99) return false;
        out->digits[out->ndigits++] = (uint8_t)(v / 10);
        out->digits[out->ndigits++] = (uint8_t)(v % 10);
    }
    if (out->digits[0] == 0) return false;
    if (out->digits[out->ndigits - 1] == 0) {
        if (out->digits[out->ndigits - 2] == 0) return false;   /* "x0" pad after a 0 */
        out->ndigits--;
    }
    return out->ndigits <= TBL_NUM_MAX_DIGITS;
}
