/*
 * libfaas — hashing, PRNG step and UTF-8 checks shared by the modules.
 */
#include "faas_int.h"

uint64_t faas__hash64(const void *data, size_t len, uint64_t seed)
{
	/* FNV-1a over the bytes, then a splitmix finaliser for avalanche. */
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ull ^ seed;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return faas__splitmix64(&h);
}

long faas__utf8_chars(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	long chars = 0;

	while (i < len) {
		unsigned c = p[i];
		size_t n, k;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			chars++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return -1;
		}
		if (i + n >= len) /* truncated sequence */
			return -1;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return -1;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		/* overlong, surrogate or out of range */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return -1;
		i += n + 1;
		chars++;
	}
	return chars;
}

char *faas__base64(const void *data, size_t len)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;
	size_t i, j = 0, n = 4 * ((len + 2) / 3);
	char *out = faas__malloc(n + 1);

	if (!out)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[j++] = tab[v >> 18];
		out[j++] = tab[(v >> 12) & 63];
		out[j++] = tab[(v >> 6) & 63];
		out[j++] = tab[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0);
		out[j++] = tab[v >> 18];
		out[j++] = tab[(v >> 12) & 63];
		out[j++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		out[j++] = '=';
	}
	out[j] = '\0';
	return out;
}

static int b64_value(char c)
{
	return c >= 'A' && c <= 'Z'   ? c - 'A'
	       : c >= 'a' && c <= 'z' ? c - 'a' + 26
	       : c >= '0' && c <= '9' ? c - '0' + 52
	       : c == '+'             ? 62
	       : c == '/'             ? 63
	                              : -1;
}

unsigned char *faas__base64_decode(const char *text, size_t *len)
{
	size_t n = strlen(text), i, j = 0;
	unsigned char *out = faas__malloc(n / 4 * 3 + 3);
	uint32_t acc = 0;
	int bits = 0;

	if (!out)
		return NULL;
	for (i = 0; i < n && text[i] != '='; i++) {
		int v = b64_value(text[i]);
		if (v < 0) {
			faas__free(out);
			return NULL;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[j++] = (unsigned char)(acc >> bits);
		}
	}
	*len = j;
	return out;
}
