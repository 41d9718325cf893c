/* Gumbel-max categorical sampler in C: a worked example of the `command` kind of gumbel-harness.
 *
 *   gcc -O2 -o gumbel_max gumbel_max.c -lm                 # correct
 *   gcc -O2 -DBROKEN -o gumbel_max_broken gumbel_max.c -lm # broken: probabilities used as logits (bugs.md B3)
 *
 *   ./gumbel_max --n N --seed S --logits FILE   -> N category indices on stdout, one per line
 *   ./gumbel_max --n N --seed S --logits FILE --out OUT.npy   -> the indices as an int64 .npy file (fast)
 *
 * FILE holds the K logits, whitespace-separated ("-inf" allowed). Noise: g = -log(-log(u)) with
 * u = (k + 1/2) 2^-53, k uniform on [0, 2^53) from xoshiro256** seeded by splitmix64(seed): float64,
 * never 0 or 1. NaN or +inf logits, or all logits -inf, are refused (exit status 2, message on stderr).
 *
 *   gumbel-harness check --command "./gumbel_max --n {n} --seed {seed} --logits {logits}" --kind categorical
 *   gumbel-harness check --command "./gumbel_max --n {n} --seed {seed} --logits {logits} --out {out}" ...
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t s[4];

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next(void) { /* xoshiro256** */
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45);
    return r;
}

static double uniform_open(void) { return ((double)(next() >> 11) + 0.5) * 0x1.0p-53; }

static int fail(const char *msg) { fprintf(stderr, "gumbel_max: %s\n", msg); return 2; }

/* NumPy .npy v1.0 header for a little-endian int64 vector of length n (total header 128 bytes) */
static void npy_header(FILE *f, long long n) {
    char dict[118];
    int len = snprintf(dict, sizeof dict, "{'descr': '<i8', 'fortran_order': False, 'shape': (%lld,), }", n);
    memset(dict + len, ' ', sizeof dict - 1 - len);
    dict[sizeof dict - 1] = '\n';
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    unsigned short hl = sizeof dict; /* 118: 8 + 2 + 118 = 128, a multiple of 64 */
    fputc(hl & 0xFF, f); fputc(hl >> 8, f);
    fwrite(dict, 1, sizeof dict, f);
}

int main(int argc, char **argv) {
    long long n = -1;
    uint64_t seed = 0;
    const char *path = NULL, *out = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--n")) n = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--seed")) seed = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--logits")) path = argv[i + 1];
        else if (!strcmp(argv[i], "--out")) out = argv[i + 1];
        else return fail("usage: gumbel_max --n N --seed S --logits FILE [--out FILE.npy]");
    }
    if (n < 0 || !path) return fail("usage: gumbel_max --n N --seed S --logits FILE");
    FILE *f = fopen(path, "r");
    if (!f) return fail("cannot open the logits file");
    size_t k = 0, cap = 1024;
    double *x = malloc(cap * sizeof *x);
    char tok[64];
    while (fscanf(f, "%63s", tok) == 1) {
        if (k == cap) x = realloc(x, (cap *= 2) * sizeof *x);
        x[k++] = strtod(tok, NULL);
    }
    fclose(f);
    if (k == 0) return fail("no logits");
    int finite = 0;
    for (size_t j = 0; j < k; j++) {
        if (isnan(x[j])) return fail("NaN logit");
        if (isinf(x[j]) && x[j] > 0) return fail("+inf logit");
        if (isfinite(x[j])) finite = 1;
    }
    if (!finite) return fail("all logits are -inf");
#ifdef BROKEN
    /* the bug: softmax probabilities where logits are needed (argmax(p + g)) */
    double m = -INFINITY, z = 0.0;
    for (size_t j = 0; j < k; j++) if (x[j] > m) m = x[j];
    for (size_t j = 0; j < k; j++) z += exp(x[j] - m);
    for (size_t j = 0; j < k; j++) if (isfinite(x[j])) x[j] = exp(x[j] - m) / z;
#endif
    uint64_t sm = seed;
    for (int j = 0; j < 4; j++) s[j] = splitmix64(&sm);
    static char buf[1 << 16];
    FILE *dst = stdout;
    if (out) {
        if (!(dst = fopen(out, "wb"))) return fail("cannot open the --out file");
        npy_header(dst, n);
    }
    setvbuf(dst, buf, _IOFBF, sizeof buf);
    for (long long i = 0; i < n; i++) {
        double best = -INFINITY;
        size_t arg = 0;
        for (size_t j = 0; j < k; j++) {
            double g = -log(-log(uniform_open()));
            if (isinf(x[j])) continue; /* -inf: never selected (its draw is still consumed) */
            if (x[j] + g > best) { best = x[j] + g; arg = j; }
        }
        if (out) {
            int64_t v = (int64_t)arg; /* little-endian hosts (x86-64, arm64) */
            fwrite(&v, sizeof v, 1, dst);
        } else {
            fprintf(dst, "%zu\n", arg);
        }
    }
    if (out && fclose(dst) != 0) return fail("cannot write the --out file");
    free(x);
    return 0;
}
