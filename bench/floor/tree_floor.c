/*
 * The floor of a tree copy on this machine: only the kernel calls a copy
 * cannot avoid, from a list made beforehand (no directory walk, no
 * directory metadata, no symlinks, hard links copied as files, no error
 * handling beyond stopping). bench/tree.py --floor times it beside the
 * tools.
 *
 *   tree_floor MODE DIRS FILES SRC DST
 *
 * DIRS and FILES list relative paths, one per line, parents first.
 * MODE create: make every directory, then every file, empty (mode 0644).
 * MODE calls:  make every directory, then per file what fastcopy -r does:
 *              open the source, fstat, create the destination with the
 *              source's mode, FICLONE (copy_file_range after the first
 *              refusal), futimens, close both.
 * Directories are made by one thread; files by two, each taking one half
 * of the list (so they mostly work in different directories).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define THREADS 2

static char **files;
static size_t nfiles;
static int calls, srcfd, dstfd;
static atomic_int no_clone;

static void die(const char *what, const char *path) {
    fprintf(stderr, "tree_floor: %s %s: %s\n", what, path, strerror(errno));
    exit(1);
}

static char **read_list(const char *path, size_t *n) {
    FILE *f = fopen(path, "r");
    if (!f)
        die("open", path);
    size_t cap = 1024;
    char **v = malloc(cap * sizeof *v);
    char *line = NULL;
    size_t len = 0;
    ssize_t r;
    *n = 0;
    while ((r = getline(&line, &len, f)) > 0) {
        line[r - 1] = 0;
        if (*n == cap)
            v = realloc(v, (cap *= 2) * sizeof *v);
        v[(*n)++] = strdup(line);
    }
    fclose(f);
    return v;
}

static void copy_one(const char *name) {
    if (!calls) {
        int d = openat(dstfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (d < 0)
            die("create", name);
        close(d);
        return;
    }
    int s = openat(srcfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (s < 0)
        die("open", name);
    struct stat st;
    if (fstat(s, &st))
        die("fstat", name);
    int d = openat(dstfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                   st.st_mode & 07777);
    if (d < 0)
        die("create", name);
    if (st.st_size > 0) {
        if (atomic_load(&no_clone) || ioctl(d, FICLONE, s) != 0) {
            atomic_store(&no_clone, 1);
            for (off_t left = st.st_size; left > 0;) {
                ssize_t n = copy_file_range(s, NULL, d, NULL, left, 0);
                if (n <= 0)
                    die("copy_file_range", name);
                left -= n;
            }
        }
    }
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (futimens(d, times))
        die("futimens", name);
    close(d);
    close(s);
}

static void *worker(void *arg) {
    size_t id = (size_t)arg, per = (nfiles + THREADS - 1) / THREADS;
    size_t lo = id * per, hi = lo + per < nfiles ? lo + per : nfiles;
    for (size_t i = lo; i < hi; i++)
        copy_one(files[i]);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 6 || (strcmp(argv[1], "create") && strcmp(argv[1], "calls"))) {
        fprintf(stderr, "usage: tree_floor create|calls DIRS FILES SRC DST\n");
        return 2;
    }
    calls = !strcmp(argv[1], "calls");
    size_t ndirs;
    char **dirs = read_list(argv[2], &ndirs);
    files = read_list(argv[3], &nfiles);
    if (mkdir(argv[5], 0755))
        die("mkdir", argv[5]);
    srcfd = open(argv[4], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    dstfd = open(argv[5], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (srcfd < 0 || dstfd < 0)
        die("open", "SRC or DST");
    for (size_t i = 0; i < ndirs; i++)
        if (mkdirat(dstfd, dirs[i], 0755))
            die("mkdir", dirs[i]);
    pthread_t t[THREADS];
    for (size_t i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (size_t i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    return 0;
}
