/*
 * shard.c: token shards (shard.h): the header, the writer, the checks
 * and the sharder with its shuffle window and held-out split.
 */
#include "tamis.h"
#include "shard.h"
#include "stream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "shards are little-endian and written in host order");

#define OUT_BUF (1u << 20)

/* ---------------------------------------------------------------- header */

static uint32_t width_of(uint32_t vocab_size)
{
	return vocab_size <= 65536 ? 2 : 4;
}

static void encode_header(const struct tm_shard_info *in, int32_t h[TM_SHARD_HEADER_INTS])
{
	memset(h, 0, TM_SHARD_HEADER_BYTES);
	h[0] = (int32_t)in->magic;
	h[1] = (int32_t)in->version;
	h[2] = (int32_t)in->ntok;
	h[3] = TM_SHARD_MARKER;
	h[4] = TM_SHARD_LAYOUT;
	h[5] = (int32_t)in->vocab_size;
	h[6] = (int32_t)in->token_bytes;
	h[7] = (int32_t)in->ndocs;
	h[8] = (int32_t)(uint32_t)in->xxh64;
	h[9] = (int32_t)(uint32_t)(in->xxh64 >> 32);
	h[10] = (int32_t)in->bos_id;
	h[11] = (int32_t)in->index;
	h[12] = (int32_t)in->split;
	h[13] = (int32_t)(uint32_t)in->seed;
	h[14] = (int32_t)(uint32_t)(in->seed >> 32);
}

int tm_shard_parse_header(const void *hdr, uint64_t file_size, const char *name,
			  struct tm_shard_info *info, struct tm_err *err)
{
	uint32_t h[TM_SHARD_HEADER_INTS];
	uint64_t want;
	int i;

	memcpy(h, hdr, TM_SHARD_HEADER_BYTES);
	memset(info, 0, sizeof(*info));
	info->file_size = file_size;
	info->bos_id = TM_SHARD_NO_BOS;
	info->magic = h[0];
	info->version = h[1];
	if (h[0] == TM_SHARD_MAGIC16)
		info->token_bytes = 2;
	else if (h[0] == TM_SHARD_MAGIC32)
		info->token_bytes = 4;
	else
		return tm_err_set(err, TM_EFORMAT, name, 0, 0,
				  "expected the magic %d or %d of a token shard, got %" PRId32,
				  TM_SHARD_MAGIC16, TM_SHARD_MAGIC32, (int32_t)h[0]);
	if (h[1] != (info->token_bytes == 2 ? TM_SHARD_VERSION16 : TM_SHARD_VERSION32))
		return tm_err_set(err, TM_EFORMAT, name, 4, 0,
				  "magic %" PRIu32 " goes with version %d, got %" PRId32, h[0],
				  info->token_bytes == 2 ? TM_SHARD_VERSION16 : TM_SHARD_VERSION32,
				  (int32_t)h[1]);
	if ((int32_t)h[2] <= 0)
		return tm_err_set(err, TM_EFORMAT, name, 8, 0,
				  "token count %" PRId32 " (a shard holds at least one token)",
				  (int32_t)h[2]);
	info->ntok = h[2];
	want = TM_SHARD_HEADER_BYTES + info->ntok * info->token_bytes;
	if (file_size != want)
		return tm_err_set(err, file_size < want ? TM_ETRUNC : TM_EFORMAT, name, 8, 0,
				  "%" PRIu64 " tokens of %" PRIu32 " bytes make a file of %" PRIu64
				  " bytes, this one has %" PRIu64, info->ntok, info->token_bytes,
				  want, file_size);
	if (h[3] != TM_SHARD_MARKER)
		return 0;	/* an llm.c shard: nothing more to decode */
	info->tamis = true;
	if (h[4] != TM_SHARD_LAYOUT)
		return tm_err_set(err, TM_EFORMAT, name, 16, 0,
				  "tamis shard layout %" PRIu32 ", this tamis reads %d", h[4],
				  TM_SHARD_LAYOUT);
	info->vocab_size = h[5];
	if (!info->vocab_size || width_of(info->vocab_size) != info->token_bytes)
		return tm_err_set(err, TM_EFORMAT, name, 20, 0,
				  "a vocabulary of %" PRIu32 " with %" PRIu32 "-byte tokens",
				  info->vocab_size, info->token_bytes);
	if (h[6] != info->token_bytes)
		return tm_err_set(err, TM_EFORMAT, name, 24, 0,
				  "token width %" PRIu32 ", the magic says %" PRIu32, h[6],
				  info->token_bytes);
	info->ndocs = h[7];
	if (info->ndocs > info->ntok)
		return tm_err_set(err, TM_EFORMAT, name, 28, 0,
				  "%" PRIu64 " documents in %" PRIu64 " tokens", info->ndocs,
				  info->ntok);
	info->xxh64 = h[8] | (uint64_t)h[9] << 32;
	info->bos_id = h[10];
	if (info->bos_id >= info->vocab_size)
		return tm_err_set(err, TM_EFORMAT, name, 40, 0,
				  "BOS id %" PRIu32 " is not below the vocabulary size %" PRIu32,
				  info->bos_id, info->vocab_size);
	info->index = h[11];
	info->split = h[12];
	if (info->split > TM_SHARD_VAL)
		return tm_err_set(err, TM_EFORMAT, name, 48, 0,
				  "split %" PRIu32 " (0 train, 1 val)", info->split);
	info->seed = h[13] | (uint64_t)h[14] << 32;
	for (i = 15; i < TM_SHARD_HEADER_INTS; i++)
		if (h[i])
			return tm_err_set(err, TM_EFORMAT, name, (uint64_t)i * 4, 0,
					  "reserved header word %d is %" PRIu32 ", not 0", i, h[i]);
	return 0;
}

/* Opens `path` and reads its header; *fd stays open for the caller. */
static int open_header(const char *path, int *fd, struct tm_shard_info *info,
		       struct tm_err *err)
{
	char hdr[TM_SHARD_HEADER_BYTES];
	struct stat st;
	ssize_t got;
	int rc;

	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return tm_err_sys(err, path, "cannot open");
	if (fstat(*fd, &st) < 0) {
		rc = tm_err_sys(err, path, "cannot stat");
		goto fail;
	}
	got = pread(*fd, hdr, sizeof(hdr), 0);
	if (got < 0) {
		rc = tm_err_sys(err, path, "read failed");
		goto fail;
	}
	if ((size_t)got < sizeof(hdr)) {
		rc = tm_err_set(err, TM_ETRUNC, path, (uint64_t)got, 0,
				"a shard starts with a %d-byte header; the file has %zd bytes",
				TM_SHARD_HEADER_BYTES, got);
		goto fail;
	}
	if ((rc = tm_shard_parse_header(hdr, (uint64_t)st.st_size, path, info, err)) < 0)
		goto fail;
	return 0;
fail:
	close(*fd);
	*fd = -1;
	return rc;
}

int tm_shard_read_info(const char *path, struct tm_shard_info *info,
		       struct tm_err *err)
{
	int fd, rc = open_header(path, &fd, info, err);

	if (fd >= 0)
		close(fd);
	return rc;
}

int tm_shard_verify(const char *path, struct tm_shard_info *info,
		    struct tm_err *err)
{
	XXH64_state_t *xs;
	unsigned char *buf;
	uint64_t off = TM_SHARD_HEADER_BYTES, end, bos = 0, h;
	int fd, rc;

	if ((rc = open_header(path, &fd, info, err)) < 0)
		return rc;
	if (!info->tamis) {
		close(fd);
		return tm_err_set(err, TM_EFORMAT, path, 12, 0,
				  "an llm.c shard without tamis's header words (marker 0x%x): "
				  "its size is right, its payload cannot be checked",
				  TM_SHARD_MARKER);
	}
	end = info->file_size;
	buf = tm_xmalloc(OUT_BUF);
	xs = XXH64_createState();
	if (!xs)
		tm_die_oom(88);
	XXH64_reset(xs, 0);
	while (off < end) {
		size_t want = (size_t)TM_MIN((uint64_t)OUT_BUF, end - off), i, n;
		ssize_t got = pread(fd, buf, want, (off_t)off);

		if (got < 0) {
			rc = tm_err_sys(err, path, "read failed");
			goto out;
		}
		if ((size_t)got != want) {
			rc = tm_err_set(err, TM_ETRUNC, path, off + (uint64_t)got, 0,
					"the file shrank while being read");
			goto out;
		}
		XXH64_update(xs, buf, want);
		n = want / info->token_bytes;
		for (i = 0; i < n; i++) {
			uint32_t v;

			if (info->token_bytes == 2) {
				uint16_t s;

				memcpy(&s, buf + 2 * i, 2);
				v = s;
			} else {
				memcpy(&v, buf + 4 * i, 4);
			}
			if (v >= info->vocab_size) {
				rc = tm_err_set(err, TM_EFORMAT, path,
						off + (uint64_t)i * info->token_bytes, 0,
						"token %" PRIu64 " is id %" PRIu32
						", not below the vocabulary size %" PRIu32,
						(off - TM_SHARD_HEADER_BYTES) / info->token_bytes + i,
						v, info->vocab_size);
				goto out;
			}
			bos += v == info->bos_id;
		}
		off += want;
	}
	h = XXH64_digest(xs);
	if (h != info->xxh64) {
		rc = tm_err_set(err, TM_EDIGEST, path, 32, 0,
				"the payload's XXH64 is %016" PRIx64 ", the header says %016" PRIx64,
				h, info->xxh64);
		goto out;
	}
	if (bos != info->ndocs) {
		rc = tm_err_set(err, TM_EFORMAT, path, 28, 0,
				"the header counts %" PRIu64 " documents, the payload has %" PRIu64
				" BOS tokens (id %" PRIu32 ")", info->ndocs, bos, info->bos_id);
		goto out;
	}
	rc = 0;
out:
	XXH64_freeState(xs);
	free(buf);
	close(fd);
	return rc;
}

/* ---------------------------------------------------------------- writer */

struct tm_shard_writer {
	char *path, *tmp;
	int fd;
	struct tm_shard_info info;
	XXH64_state_t *xs;
	unsigned char *buf;
	size_t len;
	int sys;		/* errno of the first failed write, 0 if none */
};

int tm_shard_open(const char *path, const struct tm_shard_info *meta,
		  struct tm_shard_writer **out, struct tm_err *err)
{
	struct tm_shard_writer *w;
	struct tm_buf tmp = TM_BUF_INIT;
	mode_t um;

	*out = NULL;
	if (!meta->vocab_size || meta->split > TM_SHARD_VAL ||
	    (meta->bos_id != TM_SHARD_NO_BOS && meta->bos_id >= meta->vocab_size))
		return tm_err_set(err, TM_EINVAL, path, TM_ERR_NO_OFFSET, 0,
				  "vocabulary %" PRIu32 ", BOS %" PRIu32 ", split %" PRIu32,
				  meta->vocab_size, meta->bos_id, meta->split);
	tm_buf_addf(&tmp, "%s.tmp-%ld-XXXXXX", path, (long)getpid());
	w = tm_xcalloc(1, sizeof(*w));
	w->fd = mkostemp(tmp.buf, O_CLOEXEC);
	if (w->fd < 0) {
		tm_buf_release(&tmp);
		free(w);
		return tm_err_sys(err, path, "cannot create");
	}
	/* mkstemp makes 0600; outputs follow the umask like any file */
	um = umask(0);
	umask(um);
	fchmod(w->fd, 0666 & ~um);
	w->tmp = tm_buf_detach(&tmp, NULL);
	w->path = tm_xstrdup(path);
	w->info = *meta;
	w->info.tamis = true;
	w->info.token_bytes = width_of(meta->vocab_size);
	w->info.magic = w->info.token_bytes == 2 ? TM_SHARD_MAGIC16 : TM_SHARD_MAGIC32;
	w->info.version = w->info.token_bytes == 2 ? TM_SHARD_VERSION16 : TM_SHARD_VERSION32;
	w->info.ntok = w->info.ndocs = 0;
	w->xs = XXH64_createState();
	if (!w->xs)
		tm_die_oom(88);
	XXH64_reset(w->xs, 0);
	w->buf = tm_xmalloc(OUT_BUF);
	/* the header is written at commit, when its counts are known */
	if (lseek(w->fd, TM_SHARD_HEADER_BYTES, SEEK_SET) < 0) {
		int rc = tm_err_sys(err, path, "cannot seek in '%s'", w->tmp);

		tm_shard_abort(w);
		return rc;
	}
	*out = w;
	return 0;
}

static void write_all(struct tm_shard_writer *w, const void *p, size_t n)
{
	const char *c = p;

	while (n && !w->sys) {
		ssize_t k = write(w->fd, c, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			w->sys = k < 0 ? errno : ENOSPC;
			return;
		}
		c += k;
		n -= (size_t)k;
	}
}

static void flush_buf(struct tm_shard_writer *w)
{
	XXH64_update(w->xs, w->buf, w->len);
	write_all(w, w->buf, w->len);
	w->len = 0;
}

int tm_shard_write(struct tm_shard_writer *w, const uint32_t *ids, size_t n,
		   struct tm_err *err)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ids[i] >= w->info.vocab_size)
			return tm_err_set(err, TM_EINVAL, w->path, TM_ERR_NO_OFFSET, 0,
					  "id %" PRIu32 " is not below the vocabulary size %" PRIu32,
					  ids[i], w->info.vocab_size);
	if (n > TM_SHARD_MAX_TOKENS - w->info.ntok)
		return tm_err_set(err, TM_ETOOBIG, w->path, TM_ERR_NO_OFFSET, 0,
				  "a shard holds at most %" PRIu64 " tokens", TM_SHARD_MAX_TOKENS);
	for (i = 0; i < n; i++) {
		if (w->len + 4 > OUT_BUF)
			flush_buf(w);
		if (w->info.token_bytes == 2) {
			uint16_t s = (uint16_t)ids[i];

			memcpy(w->buf + w->len, &s, 2);
		} else {
			memcpy(w->buf + w->len, &ids[i], 4);
		}
		w->len += w->info.token_bytes;
		w->info.ndocs += ids[i] == w->info.bos_id;
	}
	w->info.ntok += n;
	if (w->sys) {
		errno = w->sys;
		return tm_err_sys(err, w->path, "write failed");
	}
	return 0;
}

uint64_t tm_shard_tokens(const struct tm_shard_writer *w)
{
	return w->info.ntok;
}

static void writer_free(struct tm_shard_writer *w)
{
	XXH64_freeState(w->xs);
	free(w->buf);
	free(w->path);
	free(w->tmp);
	free(w);
}

int tm_shard_commit(struct tm_shard_writer *w, struct tm_shard_info *info,
		    struct tm_err *err)
{
	int32_t h[TM_SHARD_HEADER_INTS];
	int rc = 0;

	if (!w->info.ntok) {
		rc = tm_err_set(err, TM_EINVAL, w->path, TM_ERR_NO_OFFSET, 0,
				"a shard without tokens (llm.c refuses them)");
		tm_shard_abort(w);
		return rc;
	}
	flush_buf(w);
	w->info.xxh64 = XXH64_digest(w->xs);
	w->info.file_size = TM_SHARD_HEADER_BYTES + w->info.ntok * w->info.token_bytes;
	encode_header(&w->info, h);
	if (!w->sys && pwrite(w->fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
		w->sys = errno ? errno : ENOSPC;
	if (w->sys) {
		errno = w->sys;
		rc = tm_err_sys(err, w->path, "write failed");
	}
	if (close(w->fd) < 0 && !rc)
		rc = tm_err_sys(err, w->path, "close failed");
	if (!rc && rename(w->tmp, w->path) < 0)
		rc = tm_err_sys(err, w->path, "cannot rename '%s' into place", w->tmp);
	if (rc)
		unlink(w->tmp);
	else if (info)
		*info = w->info;
	writer_free(w);
	return rc;
}

void tm_shard_abort(struct tm_shard_writer *w)
{
	if (!w)
		return;
	close(w->fd);
	unlink(w->tmp);
	writer_free(w);
}

/* ---------------------------------------------------------------- sharder */

/* A document waiting in a shuffle window: BOS first. */
struct wdoc {
	uint32_t *ids;
	size_t n;
};

struct src {
	struct tm_shard_source pub;
	char *name;
	uint64_t rng;			/* the window's generator */
	struct wdoc *win;		/* opts.window slots */
	size_t nwin;
	uint64_t win_bytes;
	struct tm_shard_writer *w[2];	/* the open shard of each split */
	char *path[2];			/* and its name */
};

struct tm_sharder {
	struct tm_shard_opts o;
	char *dir;
	uint32_t vocab_size, bos_id;
	struct src *src;
	size_t nsrc;
	uint64_t win_bytes, peak_bytes;
	struct tm_buf path;
};

void tm_shard_source_name(const char *source, struct tm_buf *out)
{
	const char *p;

	if (!source || !*source) {
		tm_buf_addstr(out, "default");
		return;
	}
	for (p = source; *p; p++) {
		unsigned char c = (unsigned char)*p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '-' ||
			  (c == '.' && p != source);

		tm_buf_addch(out, ok ? (char)c : '_');
	}
}

bool tm_shard_is_val(const char *id, uint64_t seed, double fraction)
{
	uint64_t h = XXH64(id, strlen(id), seed);

	return (double)(h >> 11) * 0x1.0p-53 < fraction;
}

int tm_sharder_new(const struct tm_shard_opts *opts, uint32_t vocab_size,
		   uint32_t bos_id, struct tm_sharder **out, struct tm_err *err)
{
	struct tm_sharder *s;
	int rc;

	*out = NULL;
	if (!opts->dir || !*opts->dir)
		return tm_err_set(err, TM_EINVAL, NULL, TM_ERR_NO_OFFSET, 0,
				  "no output directory");
	if (!opts->tokens_per_shard || opts->tokens_per_shard > TM_SHARD_MAX_TOKENS)
		return tm_err_set(err, TM_EINVAL, NULL, TM_ERR_NO_OFFSET, 0,
				  "tokens per shard must be 1..%" PRIu64 " (llm.c's int32), got %" PRIu64,
				  TM_SHARD_MAX_TOKENS, opts->tokens_per_shard);
	if (!(opts->val_fraction >= 0 && opts->val_fraction <= 1))
		return tm_err_set(err, TM_EINVAL, NULL, TM_ERR_NO_OFFSET, 0,
				  "the validation fraction must be 0..1, got %g", opts->val_fraction);
	if (opts->window > ((size_t)1 << 32))
		return tm_err_set(err, TM_EINVAL, NULL, TM_ERR_NO_OFFSET, 0,
				  "a shuffle window of %" PRIu64 " documents", opts->window);
	if (!vocab_size || bos_id == TM_SHARD_NO_BOS || bos_id >= vocab_size)
		return tm_err_set(err, TM_EINVAL, NULL, TM_ERR_NO_OFFSET, 0,
				  "shards separate documents by the BOS token: the stream has "
				  "%s (vocabulary %" PRIu32 ")",
				  bos_id == TM_SHARD_NO_BOS ? "none" : "one out of range", vocab_size);
	if ((rc = tm_mkdir_p(opts->dir, err)) < 0)
		return rc;
	s = tm_xcalloc(1, sizeof(*s));
	s->o = *opts;
	s->dir = tm_xstrdup(opts->dir);
	s->o.dir = s->dir;
	s->vocab_size = vocab_size;
	s->bos_id = bos_id;
	tm_buf_init(&s->path, 0);
	*out = s;
	return 0;
}

static struct src *find_src(struct tm_sharder *s, const char *source, struct tm_err *err)
{
	struct tm_buf name = TM_BUF_INIT;
	struct src *x;
	size_t i;

	tm_shard_source_name(source, &name);
	for (i = 0; i < s->nsrc; i++) {
		if (!strcmp(s->src[i].name, name.buf)) {
			tm_buf_release(&name);
			return &s->src[i];
		}
	}
	tm_buf_reset(&s->path);
	tm_buf_addf(&s->path, "%s/%s", s->dir, name.buf);
	if (tm_mkdir_p(s->path.buf, err) < 0) {
		tm_buf_release(&name);
		return NULL;
	}
	s->src = tm_xrealloc(s->src, (s->nsrc + 1) * sizeof(*s->src));
	x = &s->src[s->nsrc++];
	memset(x, 0, sizeof(*x));
	x->name = tm_buf_detach(&name, NULL);
	x->pub.name = x->name;
	/* each source its own sequence: independent of the other sources */
	x->rng = s->o.seed ^ XXH64(x->name, strlen(x->name), 0x5348415244ULL);
	if (s->o.window > 1)
		x->win = tm_xcalloc((size_t)s->o.window, sizeof(*x->win));
	return x;
}

/* A uniform number in [0, n). */
static uint64_t below(uint64_t *rng, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)tm_splitmix64(rng) * n) >> 64);
}

/* Commits the open shard of split `sp` of source x. */
static int close_shard(struct tm_sharder *s, struct src *x, int sp, struct tm_err *err)
{
	struct tm_shard_info info;
	int rc;

	rc = tm_shard_commit(x->w[sp], &info, err);
	x->w[sp] = NULL;
	if (rc < 0)
		return rc;
	x->pub.shards[sp]++;
	if (s->o.on_shard)
		s->o.on_shard(s->o.arg, x->name, x->path[sp], &info);
	return 0;
}

/* Appends ids to split `sp` of source x, opening and committing shards. */
static int emit(struct tm_sharder *s, struct src *x, int sp, const uint32_t *ids,
		size_t n, struct tm_err *err)
{
	static const char *const split_name[2] = { "train", "val" };
	int rc;

	while (n) {
		size_t take;

		if (!x->w[sp]) {
			struct tm_shard_info meta;

			memset(&meta, 0, sizeof(meta));
			meta.vocab_size = s->vocab_size;
			meta.bos_id = s->bos_id;
			meta.index = (uint32_t)x->pub.shards[sp];
			meta.split = (uint32_t)sp;
			meta.seed = s->o.seed;
			tm_buf_reset(&s->path);
			tm_buf_addf(&s->path, "%s/%s/%s_%s_%06" PRIu64 ".bin", s->dir, x->name,
				    x->name, split_name[sp], x->pub.shards[sp]);
			if ((rc = tm_shard_open(s->path.buf, &meta, &x->w[sp], err)) < 0)
				return rc;
			free(x->path[sp]);
			x->path[sp] = tm_xstrdup(s->path.buf);
		}
		take = (size_t)TM_MIN((uint64_t)n, s->o.tokens_per_shard - tm_shard_tokens(x->w[sp]));
		if ((rc = tm_shard_write(x->w[sp], ids, take, err)) < 0)
			return rc;
		ids += take;
		n -= take;
		x->pub.tokens[sp] += take;
		if (tm_shard_tokens(x->w[sp]) == s->o.tokens_per_shard &&
		    (rc = close_shard(s, x, sp, err)) < 0)
			return rc;
	}
	return 0;
}

/* Sends a windowed document to the training shards and frees it. */
static int emit_doc(struct tm_sharder *s, struct src *x, struct wdoc *d, struct tm_err *err)
{
	int rc = emit(s, x, TM_SHARD_TRAIN, d->ids, d->n, err);
	uint64_t bytes = d->n * sizeof(*d->ids);

	x->pub.docs[TM_SHARD_TRAIN]++;
	x->win_bytes -= bytes;
	s->win_bytes -= bytes;
	free(d->ids);
	d->ids = NULL;
	d->n = 0;
	return rc;
}

int tm_sharder_add(struct tm_sharder *s, const char *source, const char *id,
		   const uint32_t *ids, size_t n, struct tm_err *err)
{
	struct src *x;
	struct wdoc d;
	size_t i, lead;
	int rc;

	for (i = 0; i < n; i++)
		if (ids[i] >= s->vocab_size)
			return tm_err_set(err, TM_EINVAL, NULL, TM_ERR_NO_OFFSET, 0,
					  "document '%s': id %" PRIu32
					  " is not below the vocabulary size %" PRIu32,
					  id ? id : "", ids[i], s->vocab_size);
	if (!(x = find_src(s, source, err)))
		return TM_EIO;
	lead = n && ids[0] == s->bos_id ? 0 : 1;
	if (s->o.val_fraction > 0 && tm_shard_is_val(id ? id : "", s->o.seed, s->o.val_fraction) &&
	    (!s->o.val_tokens || x->pub.tokens[TM_SHARD_VAL] < s->o.val_tokens)) {
		/* held out: in input order, no window */
		if (lead && (rc = emit(s, x, TM_SHARD_VAL, &s->bos_id, 1, err)) < 0)
			return rc;
		if ((rc = emit(s, x, TM_SHARD_VAL, ids, n, err)) < 0)
			return rc;
		x->pub.docs[TM_SHARD_VAL]++;
		return 0;
	}
	d.n = n + lead;
	d.ids = tm_xmalloc(TM_MAX(d.n, (size_t)1) * sizeof(*d.ids));
	d.ids[0] = s->bos_id;
	if (n)
		memcpy(d.ids + lead, ids, n * sizeof(*ids));
	x->win_bytes += d.n * sizeof(*d.ids);
	s->win_bytes += d.n * sizeof(*d.ids);
	if (s->win_bytes > s->peak_bytes)
		s->peak_bytes = s->win_bytes;
	if (!x->win)
		return emit_doc(s, x, &d, err);
	if (x->nwin < s->o.window) {
		x->win[x->nwin++] = d;
		return 0;
	}
	/* the window is full: a random one of it leaves, the new one takes its place */
	i = (size_t)below(&x->rng, s->o.window);
	rc = emit_doc(s, x, &x->win[i], err);
	x->win[i] = d;
	return rc;
}

int tm_sharder_finish(struct tm_sharder *s, struct tm_err *err)
{
	size_t k;
	int rc, sp;

	for (k = 0; k < s->nsrc; k++) {
		struct src *x = &s->src[k];

		/* what is left in the window, in a random order (Fisher-Yates) */
		while (x->nwin) {
			size_t i = (size_t)below(&x->rng, x->nwin);
			struct wdoc d = x->win[i];

			x->win[i] = x->win[--x->nwin];
			if ((rc = emit_doc(s, x, &d, err)) < 0)
				return rc;
		}
		for (sp = 0; sp < 2; sp++)
			if (x->w[sp] && (rc = close_shard(s, x, sp, err)) < 0)
				return rc;
	}
	return 0;
}

size_t tm_sharder_nsources(const struct tm_sharder *s)
{
	return s->nsrc;
}

const struct tm_shard_source *tm_sharder_source(const struct tm_sharder *s, size_t i)
{
	return i < s->nsrc ? &s->src[i].pub : NULL;
}

uint64_t tm_sharder_peak_bytes(const struct tm_sharder *s)
{
	return s->peak_bytes;
}

void tm_sharder_free(struct tm_sharder *s)
{
	size_t k, i;

	if (!s)
		return;
	for (k = 0; k < s->nsrc; k++) {
		struct src *x = &s->src[k];

		for (i = 0; i < x->nwin; i++)
			free(x->win[i].ids);
		free(x->win);
		tm_shard_abort(x->w[0]);
		tm_shard_abort(x->w[1]);
		free(x->path[0]);
		free(x->path[1]);
		free(x->name);
	}
	free(s->src);
	free(s->dir);
	tm_buf_release(&s->path);
	free(s);
}
