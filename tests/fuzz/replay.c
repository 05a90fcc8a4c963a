/*
 * Replay driver for the fuzz targets without libFuzzer: links with one
 * tests/fuzz/fuzz_<name>.c (FUZZ_TARGET names it) and feeds it every file
 * given, and every regular file in every directory given (sorted, dot
 * files skipped). A violated invariant aborts, as under libFuzzer.
 *
 *   replay_ident tests/fuzz/corpus/ident
 *   -> fuzz replay ident: 42 inputs
 */
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

#include "fuzz.h"

#ifndef FUZZ_TARGET
#define FUZZ_TARGET "target"
#endif

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL, *grown;
	size_t len = 0, cap = 0, n;

	if (!f) {
		fprintf(stderr, "fuzz replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	do {
		if (len == cap) {
			cap = cap ? 2 * cap : 4096;
			if (!(grown = realloc(buf, cap))) {
				fprintf(stderr, "fuzz replay: %s: out of memory\n", path);
				free(buf);
				fclose(f);
				return -1;
			}
			buf = grown;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	if (ferror(f)) {
		fprintf(stderr, "fuzz replay: %s: read error\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	/* an exact-size copy, so a sanitizer build sees reads past the input */
	grown = malloc(len ? len : 1);
	if (!grown) {
		free(buf);
		return -1;
	}
	if (len)
		memcpy(grown, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(grown, len);
	free(grown);
	return 0;
}

static int skip_dot(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

/* Runs one path; adds the inputs run to *count. */
static int run_path(const char *path, long *count)
{
	struct dirent **list;
	struct stat sb;
	char *file;
	int n, i, rc = 0;

	if (stat(path, &sb) != 0) {
		fprintf(stderr, "fuzz replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		if (run_file(path) != 0)
			return -1;
		++*count;
		return 0;
	}
	if ((n = scandir(path, &list, skip_dot, alphasort)) < 0) {
		fprintf(stderr, "fuzz replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		file = malloc(strlen(path) + strlen(list[i]->d_name) + 2);
		if (file) {
			sprintf(file, "%s/%s", path, list[i]->d_name);
			if (stat(file, &sb) == 0 && S_ISREG(sb.st_mode)) {
				if (run_file(file) == 0)
					++*count;
				else
					rc = -1;
			}
		} else {
			rc = -1;
		}
		free(file);
		free(list[i]);
	}
	free(list);
	return rc;
}

int main(int argc, char **argv)
{
	long count = 0;
	int i, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++)
		if (run_path(argv[i], &count) != 0)
			rc = 1;
	printf("fuzz replay %s: %ld inputs\n", FUZZ_TARGET, count);
	return rc;
}
