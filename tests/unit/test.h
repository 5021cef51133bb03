/* A tiny TAP test framework: TEST(name) { ... } with ASSERT_* macros.
 * Each test binary prints "ok N - name" / "not ok N - name" and exits 1 when
 * any test failed. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*TestFn)(int *failed);
typedef struct TestCase {
        const char *name;
        TestFn fn;
} TestCase;

#define MAX_TESTS 256
extern TestCase test_cases[MAX_TESTS];
extern int test_count;

#define TEST(name)                                                                 \
        static void test_##name(int *failed);                                      \
        __attribute__((constructor)) static void register_##name(void)             \
        {                                                                          \
                test_cases[test_count++] = (TestCase){ #name, test_##name };       \
        }                                                                          \
        static void test_##name(int *failed)

#define ASSERT_TRUE(expr)                                                                          \
        do {                                                                                       \
                if (!(expr)) {                                                                     \
                        fprintf(stdout, "# %s:%d: assertion failed: %s\n", __FILE__, __LINE__, #expr); \
                        *failed = 1;                                                               \
                        return;                                                                    \
                }                                                                                  \
        } while (0)
#define ASSERT_EQ(a, b)                                                                                   \
        do {                                                                                              \
                long long _a = (long long) (a), _b = (long long) (b);                                     \
                if (_a != _b) {                                                                           \
                        fprintf(stdout, "# %s:%d: %s == %s: %lld != %lld\n", __FILE__, __LINE__, #a, #b, _a, _b); \
                        *failed = 1;                                                                      \
                        return;                                                                           \
                }                                                                                         \
        } while (0)
#define ASSERT_STREQ(a, b)                                                                                 \
        do {                                                                                               \
                const char *_a = (a), *_b = (b);                                                           \
                if (!_a || !_b || strcmp(_a, _b) != 0) {                                                   \
                        fprintf(stdout, "# %s:%d: %s == %s: \"%s\" != \"%s\"\n", __FILE__, __LINE__, #a, #b, \
                                _a ? _a : "(null)", _b ? _b : "(null)");                                   \
                        *failed = 1;                                                                       \
                        return;                                                                            \
                }                                                                                          \
        } while (0)
#define ASSERT_OK(expr) ASSERT_TRUE((expr) >= 0)

#define TEST_MAIN                                                                   \
        TestCase test_cases[MAX_TESTS];                                             \
        int test_count;                                                             \
        int main(void)                                                              \
        {                                                                           \
                int bad = 0;                                                        \
                printf("1..%d\n", test_count);                                      \
                for (int i = 0; i < test_count; i++) {                              \
                        int failed = 0;                                             \
                        test_cases[i].fn(&failed);                                  \
                        printf("%s %d - %s\n", failed ? "not ok" : "ok", i + 1, test_cases[i].name); \
                        bad |= failed;                                              \
                }                                                                   \
                return bad;                                                         \
        }
