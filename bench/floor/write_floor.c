/*
 * The floor of a buffered copy of one file: write as many bytes as SRC
 * has from a filled 1 MiB buffer in memory into a new DST, without reading
 * anything. Every buffered copy (read/write, splice, copy_file_range
 * without cloning) puts the same bytes into new page-cache pages of DST.
 * bench/fresh_fs.py --floor times it beside cp and fastcopy.
 *
 *   write_floor SRC DST
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: write_floor SRC DST\n");
        return 2;
    }
    struct stat st;
    if (stat(argv[1], &st)) {
        perror(argv[1]);
        return 1;
    }
    size_t n = 1 << 20;
    char *buf = aligned_alloc(4096, n);
    memset(buf, 0x5a, n);
    int d = open(argv[2], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (d < 0) {
        perror(argv[2]);
        return 1;
    }
    for (off_t left = st.st_size; left > 0;) {
        ssize_t w = write(d, buf, left < (off_t)n ? (size_t)left : n);
        if (w <= 0) {
            perror("write");
            return 1;
        }
        left -= w;
    }
    return close(d) ? 1 : 0;
}
