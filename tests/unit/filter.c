/*
 * tests/unit/filter.c: linked into every unit test binary, so that one case can be run alone.
 * The cmocka of Debian 12 (1.1) has cmocka_set_test_filter but reads no environment variable
 * for it; this sets the filter from CMOCKA_TEST_FILTER before main runs, with no change to the
 * tests' own mains. The pattern is cmocka's: `*` and `?` over the case's name.
 *   CMOCKA_TEST_FILTER='truncated*' build/tests/test_image     (or make unit T=image C=...)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

/* A constructor, not a call in each main: a new test file gets the filter without a line. */
__attribute__((constructor)) static void
filter_from_environment(void)
{
	const char *pattern = getenv("CMOCKA_TEST_FILTER");

	if (pattern != NULL && *pattern != '\0')
		cmocka_set_test_filter(pattern);
}
