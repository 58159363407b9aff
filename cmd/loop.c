/*
 * cmd/loop.c: the ordered --jobs record loop, and a failed record's report.
 *
 * The loop is a ring of 4 * jobs slots. The main thread reads operands and stdin and fills
 * slots in input order (with run.next, also no more payload bytes than run.max_payload_bytes,
 * so that large frames do not wait 4 * jobs deep); jobs worker threads take slots in that order and
 * run the tool's work on them; one writer thread waits for the oldest slot, reports it if it
 * failed, and writes it. The writer, not the main thread, writes, because the main thread may sit
 * in read(2) waiting for the next line while earlier records are ready: with `tail -f` or a camera
 * feeding stdin the output must not wait for the input. stderr lines come from the writer too, so
 * they appear in input order.
 */
#include "loop.h"

#include <err.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ndjson.h"
#include "progress.h"

#define SLOTS_PER_JOB 4

enum slot_state {
	SLOT_WORK,   /* to be processed by run.work */
	SLOT_PASS,   /* arrived with "error": written untouched */
	SLOT_FAILED, /* why holds the reason; record_fail at write time */
};

struct slot {
	cJSON *rec;
	enum slot_state state;
	bool done;     /* a worker has finished with it */
	uint64_t line; /* its stdin line, or 0 for an operand */
	struct fm_err why;
	char *out; /* the serialised line, when not failed */
	size_t n_out;
	void *payload; /* run.next's, until work is done with it */
	size_t payload_bytes;
};

struct loop {
	struct run *run;
	pthread_mutex_t lock;
	pthread_cond_t work_ready; /* workers wait for tail > next_work */
	pthread_cond_t head_done;  /* the writer waits for slots[head].done */
	pthread_cond_t room; /* the reader waits for tail - head < n_slots, and payload room */
	struct slot *slots;
	size_t n_slots;
	uint64_t head, next_work, tail; /* head <= next_work <= tail, all counting records */
	size_t payload_bytes;           /* of the payloads pushed and not yet released */
	bool input_ended;
	bool serial;     /* --jobs 1: the reading thread works and writes each record itself */
	bool stop;       /* stdout failed: finish without writing */
	int read_failed; /* stdin could not be read: errno, status 2 */
	/* Counted by the writer, for --progress. */
	uint64_t n_written, n_failed;
	struct progress progress;
};

struct worker {
	struct loop *loop;
	int thread;
};

static void work_slot(struct run *r, int thread, struct slot *s);
static int write_slot(struct loop *l, struct slot *s);

/* --progress: run.progress_extra's fields after the loop's own counts. */
static void
show_progress(struct loop *l, bool last)
{
	char extra[160] = "";

	if (!last && clock_sec() - l->progress.last_shown < l->progress.every_sec)
		return;
	if (l->run->progress_extra != NULL)
		l->run->progress_extra(l->run->ctx, extra, sizeof extra);
	progress_show(&l->progress, last, NULL, l->n_written, l->n_failed,
	              extra[0] != '\0' ? extra : NULL);
}

void
record_fail(struct run *r, cJSON *rec, const char *where, const char *why)
{
	struct loop *l = r->loop;

	if (l != NULL) {
		progress_break(&l->progress); /* the message goes on a line of its own */
		l->n_failed++;
	}
	warn_printable(where, why);
	fm_ndjson_set_error(rec, why, NULL);
	some_failed(&r->status);
}

/* Whether a payload of n bytes must wait for others to be released first. */
static bool
payload_waits(const struct loop *l, size_t n)
{
	size_t max = l->run->max_payload_bytes;

	return max > 0 && l->payload_bytes > 0 && (n > max || l->payload_bytes > max - n);
}

/* Add a record to the ring in input order; false when the loop stops. */
static bool
push_payload(struct loop *l, cJSON *rec, enum slot_state state, uint64_t line,
             const struct fm_err *why, void *payload, size_t payload_bytes)
{
	struct slot *s;

	if (l->serial) {
		/* No threads to hand over to: about 10 us a record saved, which a 48x48 face
		 * classified in well under a millisecond notices. */
		if (l->stop) {
			cJSON_Delete(rec);
			if (payload != NULL)
				l->run->free_payload(payload);
			return false;
		}
		s = &l->slots[0];
		*s = (struct slot){.rec = rec, .state = state, .line = line, .payload = payload};
		if (why != NULL)
			s->why = *why;
		work_slot(l->run, 0, s);
		l->run->out_errno = write_slot(l, s);
		l->stop = l->run->out_errno != 0;
		return !l->stop;
	}
	pthread_mutex_lock(&l->lock);
	while ((l->tail - l->head == l->n_slots || payload_waits(l, payload_bytes)) && !l->stop)
		pthread_cond_wait(&l->room, &l->lock);
	if (l->stop) {
		pthread_mutex_unlock(&l->lock);
		cJSON_Delete(rec);
		if (payload != NULL)
			l->run->free_payload(payload);
		return false;
	}
	s = &l->slots[l->tail % l->n_slots];
	*s = (struct slot){.rec = rec,
	                   .state = state,
	                   .line = line,
	                   .payload = payload,
	                   .payload_bytes = payload != NULL ? payload_bytes : 0};
	if (why != NULL)
		s->why = *why;
	l->payload_bytes += s->payload_bytes;
	l->tail++;
	pthread_cond_signal(&l->work_ready);
	pthread_mutex_unlock(&l->lock);
	return true;
}

static bool
push(struct loop *l, cJSON *rec, enum slot_state state, uint64_t line, const struct fm_err *why)
{
	return push_payload(l, rec, state, line, why, NULL, 0);
}

/* Records from run.next, until it ends or fails for good. */
static void
push_made(struct loop *l)
{
	struct run *r = l->run;

	for (;;) {
		struct fm_err e = {0};
		cJSON *rec = NULL;
		void *payload = NULL;
		size_t payload_bytes = 0;
		int rc = r->next(r->ctx, &rec, &payload, &payload_bytes, &e);

		if (rc == 0)
			return;
		if (rc == -1 && rec == NULL) {
			warnx("%s", e.msg);
			pthread_mutex_lock(&l->lock);
			l->read_failed = e.code == FM_ENOMEM ? ENOMEM : EIO;
			pthread_mutex_unlock(&l->lock);
			return;
		}
		if (!push_payload(l, rec, rc == 1 ? SLOT_WORK : SLOT_FAILED, 0, rc == 1 ? NULL : &e,
		                  payload, payload_bytes))
			return;
	}
}

/* Out of memory in the reader: nothing sensible can follow. */
static bool
give_up(struct loop *l, const struct fm_err *e)
{
	warnx("%s", e->msg);
	pthread_mutex_lock(&l->lock);
	l->read_failed = ENOMEM;
	pthread_mutex_unlock(&l->lock);
	return false;
}

/* A path (an operand, or with -0 a stdin item, line its number) as {"path": path}. */
static bool
push_path(struct loop *l, const char *path, size_t n, uint64_t line)
{
	struct fm_err e = {0};
	cJSON *rec = cJSON_CreateObject();
	size_t bad_at;

	if (rec == NULL || fm_ndjson_set_text(rec, "path", path, n, SIZE_MAX, &e) == -1) {
		cJSON_Delete(rec);
		fm_err_set(&e, FM_ENOMEM, "out of memory for a record");
		return give_up(l, &e);
	}
	if (!fm_ndjson_utf8_valid(path, n, &bad_at)) {
		/* JSON cannot hold the name: the record carries it with U+FFFD in place. */
		fm_err_set(&e, FM_EFORMAT, "file name is not valid UTF-8 at byte %zu", bad_at + 1);
		return push(l, rec, SLOT_FAILED, line, &e);
	}
	if (l->run->flags & RUN_NEED_PATH && n == 0) {
		fm_err_set(&e, FM_EFORMAT, "\"path\" is empty");
		return push(l, rec, SLOT_FAILED, line, &e);
	}
	return push(l, rec, SLOT_WORK, line, NULL);
}

static bool
push_line(struct loop *l, const struct fm_ndjson_line *line)
{
	unsigned flags = l->run->flags & RUN_BARE_PATHS ? FM_NDJSON_BARE_PATH : 0;
	struct fm_err e = {0};
	const char *path;
	cJSON *rec;

	if (fm_ndjson_parse(line->text, line->n_bytes, flags, &rec, &e) == -1) {
		if (e.code == FM_ENOMEM)
			return give_up(l, &e);
		struct fm_err why = e;
		if (fm_ndjson_bad_line(line->number, line->text, line->n_bytes, why.msg, &rec,
		                       &e) == -1)
			return give_up(l, &e);
		return push(l, rec, SLOT_FAILED, line->number, &why);
	}
	if (fm_ndjson_has_error(rec))
		return push(l, rec, SLOT_PASS, line->number, NULL);
	if (l->run->flags & RUN_NEED_PATH && fm_ndjson_get_path(rec, &path, &e) == -1)
		return push(l, rec, SLOT_FAILED, line->number, &e);
	return push(l, rec, SLOT_WORK, line->number, NULL);
}

static bool
push_stdin(struct loop *l)
{
	struct fm_ndjson_reader *rd;
	struct fm_ndjson_line line;
	struct fm_err e = {0};
	bool go_on = true;

	if (fm_ndjson_reader_new_fd(STDIN_FILENO, l->run->max_line_bytes, &rd, &e) == -1)
		return give_up(l, &e);
	if (l->run->null_paths)
		fm_ndjson_reader_set_delimiter(rd, '\0');
	while (go_on) {
		if (fm_ndjson_read(rd, &line, &e) == -1) {
			if (e.code == FM_EIO) {
				warnx("stdin: %s", e.msg);
				pthread_mutex_lock(&l->lock);
				l->read_failed = EIO;
				pthread_mutex_unlock(&l->lock);
				break;
			}
			/* Too long: what is left of the line is skipped, the next one is read. */
			struct fm_err why = e;
			cJSON *rec;
			if (fm_ndjson_bad_line(line.number, line.text, line.n_bytes, why.msg, &rec,
			                       &e) == -1) {
				go_on = give_up(l, &e);
				break;
			}
			go_on = push(l, rec, SLOT_FAILED, line.number, &why);
			continue;
		}
		if (line.text == NULL)
			break;
		go_on = l->run->null_paths ? push_path(l, line.text, line.n_bytes, line.number)
		                           : push_line(l, &line);
	}
	fm_ndjson_reader_free(rd);
	return go_on && l->read_failed == 0;
}

/* Run the tool's work on a slot and serialise the result, outside the lock. */
static void
work_slot(struct run *r, int thread, struct slot *s)
{
	if (s->state == SLOT_WORK &&
	    (r->work_payload != NULL ? r->work_payload(r->ctx, thread, s->rec, s->payload, &s->why)
	                             : r->work(r->ctx, thread, s->rec, &s->why)) == -1) {
		s->state = SLOT_FAILED;
		if (s->why.msg[0] == '\0') /* a library bug must not give a silent error */
			fm_err_set(&s->why, s->why.code, "failed, without a reason (code %d)",
			           (int)s->why.code);
	}
	if (s->payload != NULL) {
		r->free_payload(s->payload);
		s->payload = NULL;
	}
	/* With in_order the line is made at write time, after it. */
	if (s->state != SLOT_FAILED && r->in_order == NULL &&
	    fm_ndjson_print(s->rec, &s->out, &s->n_out, &s->why) == -1)
		s->state = SLOT_FAILED;
}

/* run.in_order on a worked slot, then its line and those of the records it added. */
static void
order_slot(struct run *r, struct slot *s)
{
	cJSON *extra = NULL, *e;

	if (s->state == SLOT_WORK && r->in_order(r->ctx, s->rec, &extra, &s->why) == -1)
		s->state = SLOT_FAILED;
	if (s->state != SLOT_FAILED && fm_ndjson_print(s->rec, &s->out, &s->n_out, &s->why) == -1)
		s->state = SLOT_FAILED;
	cJSON_ArrayForEach(e, extra)
	{
		char *line, *both;
		size_t n;

		if (s->state == SLOT_FAILED || fm_ndjson_print(e, &line, &n, NULL) == -1)
			continue;
		if ((both = realloc(s->out, s->n_out + n + 1)) != NULL) {
			memcpy(both + s->n_out, line, n + 1);
			s->out = both;
			s->n_out += n;
		}
		free(line);
	}
	cJSON_Delete(extra);
}

static void *
work_loop(void *arg)
{
	struct worker *w = arg;
	struct loop *l = w->loop;
	struct run *r = l->run;

	pthread_mutex_lock(&l->lock);
	for (;;) {
		while (l->next_work == l->tail && !l->input_ended && !l->stop)
			pthread_cond_wait(&l->work_ready, &l->lock);
		if (l->stop || l->next_work == l->tail)
			break;
		struct slot *s = &l->slots[l->next_work++ % l->n_slots];
		pthread_mutex_unlock(&l->lock);

		work_slot(r, w->thread, s);

		pthread_mutex_lock(&l->lock);
		if (s->payload_bytes > 0) { /* work_slot released it: room for the next */
			l->payload_bytes -= s->payload_bytes;
			s->payload_bytes = 0;
			pthread_cond_signal(&l->room);
		}
		s->done = true;
		pthread_cond_signal(&l->head_done);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

/*
 * A failed record as its line. If the record itself cannot be printed (a tool set a
 * number that is not finite), a fresh one keeps what identifies it: its path or line.
 */
static int
print_failed(struct run *r, struct slot *s)
{
	const char *path = NULL;
	char where[64];
	struct fm_err e;

	if (fm_ndjson_get_path(s->rec, &path, NULL) == -1) {
		if (s->line > 0)
			snprintf(where, sizeof where, "line %llu", (unsigned long long)s->line);
		else
			snprintf(where, sizeof where, "-");
		path = where;
	}
	record_fail(r, s->rec, path, s->why.msg);
	if (fm_ndjson_print(s->rec, &s->out, &s->n_out, &e) == 0)
		return 0;
	cJSON *bare = cJSON_CreateObject();
	cJSON *p = cJSON_GetObjectItemCaseSensitive(s->rec, "path");
	if (bare == NULL)
		return -1;
	if (s->line > 0)
		fm_ndjson_set(bare, "line", cJSON_CreateNumber((double)s->line), NULL);
	if (cJSON_IsString(p))
		fm_ndjson_set(bare, "path", cJSON_CreateString(p->valuestring), NULL);
	fm_ndjson_set_error(bare, s->why.msg, NULL);
	int rc = fm_ndjson_print(bare, &s->out, &s->n_out, &e);
	cJSON_Delete(bare);
	return rc;
}

/* Write a finished slot's line (reporting it first if it failed) and empty the slot;
 * 0, or the errno that stops all output. */
static int
write_slot(struct loop *l, struct slot *s)
{
	struct run *r = l->run;
	int out_errno = 0;

	if (r->in_order != NULL && s->state != SLOT_FAILED)
		order_slot(r, s);
	if (s->state == SLOT_FAILED && print_failed(r, s) == -1) {
		warnx("out of memory for an output line");
		out_errno = ENOMEM;
	}
	if (out_errno == 0)
		out_errno = write_line(s->out, s->n_out);
	cJSON_Delete(s->rec);
	free(s->out);
	*s = (struct slot){0};
	l->n_written++;
	if (r->progress)
		show_progress(l, false);
	return out_errno;
}

static void *
write_loop(void *arg)
{
	struct loop *l = arg;

	pthread_mutex_lock(&l->lock);
	for (;;) {
		while (!l->stop && !(l->head < l->tail && l->slots[l->head % l->n_slots].done) &&
		       !(l->head == l->tail && l->input_ended))
			pthread_cond_wait(&l->head_done, &l->lock);
		if (l->stop || l->head == l->tail)
			break;
		struct slot *s = &l->slots[l->head % l->n_slots];
		pthread_mutex_unlock(&l->lock);

		int out_errno = write_slot(l, s);

		pthread_mutex_lock(&l->lock);
		l->head++;
		if (out_errno != 0) {
			/* Nothing more can be written: let the reader and workers go. */
			l->run->out_errno = out_errno;
			l->stop = true;
			pthread_cond_broadcast(&l->work_ready);
			pthread_cond_broadcast(&l->room);
			break;
		}
		pthread_cond_signal(&l->room);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

int
run_records(struct run *r, int argc, char *const argv[])
{
	struct loop l = {.run = r};
	struct worker *workers = NULL;
	pthread_t *threads = NULL, writer;
	int n_started = 0;
	bool writer_started = false;

	protect_lines();
	progress_start(&l.progress, r->name != NULL ? r->name : "progress", "record", "records");
	r->loop = &l;
	if (r->jobs < 1 || r->jobs > JOBS_MAX)
		r->jobs = 1;
	l.n_slots = (size_t)r->jobs * SLOTS_PER_JOB;
	l.slots = calloc(l.n_slots, sizeof *l.slots);
	workers = calloc((size_t)r->jobs, sizeof *workers);
	threads = calloc((size_t)r->jobs, sizeof *threads);
	if (l.slots == NULL || workers == NULL || threads == NULL) {
		warnx("out of memory for %d jobs", r->jobs);
		r->status = STATUS_CANNOT_RUN;
		goto fail;
	}
	pthread_mutex_init(&l.lock, NULL);
	pthread_cond_init(&l.work_ready, NULL);
	pthread_cond_init(&l.head_done, NULL);
	pthread_cond_init(&l.room, NULL);

	/* One job needs no threads: the loop reads, works and writes in turn. */
	l.serial = r->jobs == 1;
	int rc = l.serial ? 0 : pthread_create(&writer, NULL, write_loop, &l);
	writer_started = rc == 0 && !l.serial;
	for (; rc == 0 && !l.serial && n_started < r->jobs; n_started++) {
		workers[n_started] = (struct worker){&l, n_started};
		rc = pthread_create(&threads[n_started], NULL, work_loop, &workers[n_started]);
		if (rc != 0)
			break;
	}
	if (rc != 0) {
		warnx("cannot start %d threads (see --jobs): %s", r->jobs, strerror(rc));
		r->status = STATUS_CANNOT_RUN;
		pthread_mutex_lock(&l.lock);
		l.stop = true;
		pthread_mutex_unlock(&l.lock);
	} else if (r->next != NULL) {
		push_made(&l);
	} else if (argc == 0) {
		push_stdin(&l);
	} else {
		for (int i = 0; i < argc; i++) {
			bool go_on = strcmp(argv[i], "-") == 0
			                 ? push_stdin(&l)
			                 : push_path(&l, argv[i], strlen(argv[i]), 0);
			if (!go_on)
				break;
		}
	}

	pthread_mutex_lock(&l.lock);
	l.input_ended = true;
	pthread_cond_broadcast(&l.work_ready);
	pthread_cond_broadcast(&l.head_done);
	pthread_mutex_unlock(&l.lock);
	for (int i = 0; i < n_started; i++)
		pthread_join(threads[i], NULL);
	if (writer_started) {
		pthread_mutex_lock(&l.lock);
		pthread_cond_broadcast(&l.head_done);
		pthread_mutex_unlock(&l.lock);
		pthread_join(writer, NULL);
	}
	for (uint64_t i = l.head; i < l.tail; i++) {
		struct slot *s = &l.slots[i % l.n_slots];
		cJSON_Delete(s->rec);
		free(s->out);
		if (s->payload != NULL)
			r->free_payload(s->payload);
	}
	if (l.read_failed != 0 || r->out_errno != 0)
		r->status = STATUS_CANNOT_RUN;
	if (r->progress)
		show_progress(&l, true);
	pthread_cond_destroy(&l.room);
	pthread_cond_destroy(&l.head_done);
	pthread_cond_destroy(&l.work_ready);
	pthread_mutex_destroy(&l.lock);
fail:
	free(threads);
	free(workers);
	free(l.slots);
	r->loop = NULL;
	return r->status;
}

int
run_finish(struct run *r)
{
	int failed = r->out_errno;

	errno = 0;
	/* A full disk is not success: the last bytes may fail only at close. */
	if (failed == 0 && (fflush(stdout) == EOF || ferror(stdout)))
		failed = errno != 0 ? errno : EIO;
	if (fclose(stdout) == EOF && failed == 0)
		failed = errno != 0 ? errno : EIO;
	if (failed != 0) {
		warnx("stdout: %s", strerror(failed));
		return STATUS_CANNOT_RUN;
	}
	return r->status;
}
