/* The C ABI from C: build against the static library and run.
 *
 *   gcc -std=c11 -Wall -Wextra -Werror -Icrates/fastcopy-ffi/include \
 *       crates/fastcopy-ffi/tests/c/smoke.c target/release/libfastcopy_ffi.a \
 *       -lgcc_s -lutil -lrt -lpthread -lm -ldl -o smoke && ./smoke DIR
 *
 * DIR is an empty scratch directory. .ci/go.sh runs it. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fastcopy.h"

static int passed, failed;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (cond) {                                                          \
            passed++;                                                        \
        } else {                                                             \
            failed++;                                                        \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                  \
        }                                                                    \
    } while (0)

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(path);
        exit(2);
    }
}

static int file_equals(const char *path, const char *text) {
    char buf[256] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    return n == strlen(text) && memcmp(buf, text, n) == 0;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s EMPTY_DIR\n", argv[0]);
        return 2;
    }
    char src[4096], dst[4096], missing[4096];
    snprintf(src, sizeof src, "%s/src.txt", argv[1]);
    snprintf(dst, sizeof dst, "%s/sub/dir/dst.txt", argv[1]);
    snprintf(missing, sizeof missing, "%s/missing", argv[1]);
    write_file(src, "hello from C\n");

    CHECK(fastcopy_abi_version() == FASTCOPY_ABI_VERSION);
    printf("fastcopy %s, ABI %u\n", fastcopy_version(), fastcopy_abi_version());
    fastcopy_metrics_reset(NULL);

    /* A copy with parents created, reported. */
    FastcopyOptions opts = fastcopy_options_default();
    opts.overwrite = 0;
    opts.create_parents = 1;
    FastcopyReport report;
    FastcopyError err;
    int rc = fastcopy_copy_file(src, dst, &opts, &report, &err);
    CHECK(rc == FASTCOPY_OK && err.code == FASTCOPY_OK && err.message == NULL);
    CHECK(file_equals(dst, "hello from C\n"));
    CHECK(report.bytes == 13 && report.method != NULL);
    printf("copied with %s, %llu bytes, %llu ns, %u fallbacks\n", report.method,
           (unsigned long long)report.bytes, (unsigned long long)report.elapsed_ns,
           report.fallbacks);

    /* No clobber: an error code, a message to free, the target untouched. */
    write_file(src, "changed\n");
    rc = fastcopy_copy_file(src, dst, &opts, &report, &err);
    CHECK(rc == FASTCOPY_ERROR_ALREADY_EXISTS && err.code == rc);
    CHECK(err.message != NULL && strstr(err.message, "dst.txt") != NULL);
    printf("expected error: %s: %s\n", fastcopy_status_name(rc), err.message);
    fastcopy_error_free(&err);
    CHECK(err.message == NULL);
    fastcopy_error_free(&err); /* twice is fine */
    CHECK(file_equals(dst, "hello from C\n"));

    /* Same file. */
    rc = fastcopy_copy_file(src, src, NULL, NULL, &err);
    CHECK(rc == FASTCOPY_ERROR_SAME_FILE && err.os_error == 0);
    fastcopy_error_free(&err);
    CHECK(file_equals(src, "changed\n"));

    /* Missing source: the errno comes along. */
    rc = fastcopy_copy_file(missing, dst, NULL, NULL, &err);
    CHECK(rc == FASTCOPY_ERROR_NOT_FOUND && err.os_error == ENOENT);
    fastcopy_error_free(&err);

    /* NULL arguments are errors, not crashes. */
    CHECK(fastcopy_copy_file(NULL, dst, NULL, NULL, NULL) == FASTCOPY_ERROR_INVALID_ARGUMENT);
    CHECK(fastcopy_metrics(NULL) == FASTCOPY_ERROR_INVALID_ARGUMENT);

    FastcopyMetrics m;
    CHECK(fastcopy_metrics(&m) == FASTCOPY_OK);
    CHECK(m.files == 1 && m.failures == 3 && m.bytes == 13);
    CHECK(m.methods[report.method_id].files == 1);
    CHECK(m.size_buckets[1] == 1 && fastcopy_size_bucket_max(1) == 4096);

    struct stat st;
    CHECK(stat(dst, &st) == 0 && st.st_size == 13);

    printf("smoke: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
