/* Condition evaluation: every comparator and function on every relevant type, nested paths
 * with list indexes, missing attributes and mismatched types (false, never an error). */
#include "table_expr_util.h"

static const char *ITEM =
    "{'id':{'S':'order-17'},'price':{'N':'12.50'},'qty':{'N':'3'},"
    "'bin':{'B':'AAEC'},'ok':{'BOOL':true},'nada':{'NULL':true},"
    "'tags':{'SS':['red','blue']},'sizes':{'NS':['1','2.5']},'bins':{'BS':['AAE=']},"
    "'lst':{'L':[{'S':'x'},{'N':'5'},{'M':{'deep':{'S':'yes'}}}]},"
    "'mp':{'M':{'a':{'M':{'b':{'L':[{'N':'10'},{'N':'20'}]}}},'s':{'S':'hello world'}}}}";

static const char *VALS =
    "{':s':{'S':'order-17'},':pre':{'S':'order'},':n':{'N':'12.5'},':n2':{'N':'12.50000'},"
    "':big':{'N':'100'},':three':{'N':'3'},':b':{'B':'AAEC'},':bpre':{'B':'AAE='},"
    "':t':{'BOOL':true},':red':{'S':'red'},':x':{'S':'x'},':five':{'N':'5'},"
    "':yes':{'S':'yes'},':ten':{'N':'10'},':twenty':{'N':'20'},':world':{'S':'world'},"
    "':S':{'S':'S'},':N':{'N':'1'},':NS':{'S':'NS'},':L':{'S':'L'},':M':{'S':'M'},"
    "':NULL':{'S':'NULL'},':BOOL':{'S':'BOOL'},':SS':{'S':'SS'},':B':{'S':'B'},"
    "':tags':{'SS':['blue','red']},':list':{'L':[{'S':'x'},{'N':'5.0'},{'M':{'deep':{'S':'yes'}}}]},"
    "':e1':{'N':'1'},':e2':{'N':'2'},':e11':{'N':'11'},':strnum':{'S':'12.5'}}";

#define T(text) assert_true(cond(text, NULL, VALS, ITEM))
#define F(text) assert_false(cond(text, NULL, VALS, ITEM))

static void test_comparators_on_strings_numbers_binary(void **state)
{
    (void)state;
    T("id = :s"); F("id <> :s"); T("id > :pre"); T("id >= :pre"); F("id < :pre");
    T("price = :n"); T("price = :n2"); T("price < :big"); T("price <= :n"); T("price >= :n");
    F("price > :n"); T("qty < :big"); T("price <> :big");
    T("bin = :b"); T("bin > :bpre");
    T(":three < price");    /* value on the left */
    T("qty = :three");
    T("ok = :t");
    T("tags = :tags");      /* sets compare as sets */
    T("lst = :list");      /* numbers inside lists by value */
}

static void test_mismatched_or_missing_is_false_except_ne(void **state)
{
    (void)state;
    F("price = :strnum"); T("price <> :strnum");
    F("price < :strnum"); F("price > :strnum");
    F("nothere = :n"); T("nothere <> :n"); F("nothere < :n"); F("nothere >= :n");
    F("tags < :tags");      /* sets are not ordered */
    F("ok > :t");
    F("nothere BETWEEN :e1 AND :e2");
}

static void test_between_and_in(void **state)
{
    (void)state;
    T("qty BETWEEN :e1 AND :three"); T("qty BETWEEN :three AND :three");
    F("qty BETWEEN :e1 AND :e2"); T("price BETWEEN :e11 AND :big");
    T("id BETWEEN :pre AND :s");
    T("qty IN (:e1, :e2, :three)"); F("qty IN (:e1, :e2)"); T("id IN (:x, :s)");
    F("nothere IN (:e1)");
}

static void test_existence_and_type_functions(void **state)
{
    (void)state;
    T("attribute_exists(id)"); F("attribute_exists(nope)");
    T("attribute_not_exists(nope)"); F("attribute_not_exists(price)");
    T("attribute_exists(mp.a.b[1])"); F("attribute_exists(mp.a.b[2])");
    F("attribute_exists(price.x)"); F("attribute_exists(lst.x)"); F("attribute_exists(mp[0])");
    T("attribute_type(id, :S)");
    F("attribute_type(price, :NS)"); T("attribute_type(sizes, :NS)");
    T("attribute_type(lst, :L)"); T("attribute_type(mp, :M)"); T("attribute_type(nada, :NULL)");
    T("attribute_type(ok, :BOOL)"); T("attribute_type(tags, :SS)"); T("attribute_type(bin, :B)");
    F("attribute_type(nope, :S)");
    assert_true(cond("attribute_not_exists(id)", NULL, NULL, NULL));   /* no item at all */
    assert_false(cond("attribute_exists(id)", NULL, NULL, NULL));
}

static void test_begins_with_and_contains(void **state)
{
    (void)state;
    T("begins_with(id, :pre)"); F("begins_with(id, :world)"); T("begins_with(bin, :bpre)");
    F("begins_with(price, :pre)");
    T("contains(mp.s, :world)"); F("contains(id, :world)");
    T("contains(tags, :red)"); F("contains(tags, :x)");
    T("contains(sizes, :e1)"); F("contains(sizes, :e2)");
    T("contains(lst, :x)"); T("contains(lst, :five)"); F("contains(lst, :red)");
    T("contains(bin, :bpre)");
    F("contains(nothere, :x)");
}

static void test_size(void **state)
{
    (void)state;
    F("size(id) = :big");
    assert_true(cond("size(id) = :n", NULL, "{':n':{'N':'8'}}", ITEM));
    assert_true(cond("size(bin) = :n", NULL, "{':n':{'N':'3'}}", ITEM));
    assert_true(cond("size(tags) = :n", NULL, "{':n':{'N':'2'}}", ITEM));
    assert_true(cond("size(lst) = :n", NULL, "{':n':{'N':'3'}}", ITEM));
    assert_true(cond("size(mp) = :n", NULL, "{':n':{'N':'2'}}", ITEM));
    assert_true(cond("size(mp.a.b) > :n", NULL, "{':n':{'N':'1'}}", ITEM));
    assert_false(cond("size(price) >= :n", NULL, "{':n':{'N':'0'}}", ITEM));
    assert_false(cond("size(nothere) >= :n", NULL, "{':n':{'N':'0'}}", ITEM));
    assert_true(cond("size(u) = :n", NULL, "{':n':{'N':'2'}}", "{'u':{'S':'\\u00e9\\u00e9'}}"));
}

static void test_nested_paths_and_names(void **state)
{
    (void)state;
    T("mp.a.b[0] = :ten"); T("mp.a.b[1] = :twenty"); T("lst[2].deep = :yes");
    T("lst[0] = :x");
    assert_true(cond("#m.#a.b[1] = :twenty AND #l[2].#d = :yes",
                     "{'#m':'mp','#a':'a','#l':'lst','#d':'deep'}", VALS, ITEM));
    /* a #name holding a dot is one attribute name, not a path */
    assert_true(cond("#dotted = :x", "{'#dotted':'a.b'}", "{':x':{'S':'x'}}",
                     "{'a.b':{'S':'x'},'a':{'M':{'b':{'S':'no'}}}}"));
}

static void test_logic(void **state)
{
    (void)state;
    T("id = :s AND qty = :three"); F("id = :s AND qty = :big"); T("id = :x OR qty = :three");
    F("NOT id = :s"); T("NOT (id = :x OR qty = :big)");
    T("(attribute_exists(id) AND (price > :e1 OR nothere = :e1)) AND NOT contains(tags, :x)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_comparators_on_strings_numbers_binary),
        cmocka_unit_test(test_mismatched_or_missing_is_false_except_ne),
        cmocka_unit_test(test_between_and_in),
        cmocka_unit_test(test_existence_and_type_functions),
        cmocka_unit_test(test_begins_with_and_contains),
        cmocka_unit_test(test_size),
        cmocka_unit_test(test_nested_paths_and_names),
        cmocka_unit_test(test_logic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
