/*
 * lib/cascade_xml.c: the small XML reader behind fm_cascade_load.
 *
 * OpenCV's cascade files use a fixed subset of XML (OpenCV's FileStorage layout):
 * elements, text, comments and the XML declaration; no entities in numbers, no CDATA,
 * no namespaces. This reader parses exactly that subset into a flat tree and rejects
 * anything else with a message, rather than bringing in a general XML library for it.
 * Every input is hostile: nesting depth is capped, and every span stays inside the buffer.
 */
#include "cascade_int.h"

#include <stdlib.h>
#include <string.h>

#define XML_MAX_DEPTH 64

struct parser {
	const char *s, *end;
	struct cascade_xml *x;
	struct fm_err *err;
};

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.' || c == ':';
}

static const char *
find(const char *s, const char *end, const char *needle)
{
	size_t n = strlen(needle);

	for (; s + n <= end; s++)
		if (memcmp(s, needle, n) == 0)
			return s;
	return NULL;
}

static int
line_of(const struct parser *p, const char *at)
{
	int line = 1;

	for (const char *c = p->x->buf; c < at && c < p->end; c++)
		line += *c == '\n';
	return line;
}

static int
fail(struct parser *p, const char *at, const char *what)
{
	return fm_err_set(p->err, FM_EFORMAT, "malformed cascade XML at line %d: %s",
	                  line_of(p, at), what);
}

static int
add_node(struct parser *p, int parent)
{
	struct cascade_xml *x = p->x;

	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 1024;
		struct cascade_xml_node *nodes = realloc(x->nodes, cap * sizeof *nodes);

		if (nodes == NULL)
			return fm_err_set(p->err, FM_ENOMEM, "out of memory reading cascade");
		x->nodes = nodes;
		x->cap = cap;
	}
	struct cascade_xml_node *n = &x->nodes[x->n];
	memset(n, 0, sizeof *n);
	n->parent = parent;
	n->first_child = n->last_child = n->next = -1;
	if (parent >= 0) {
		struct cascade_xml_node *par = &x->nodes[parent];

		if (par->last_child >= 0)
			x->nodes[par->last_child].next = (int)x->n;
		else
			par->first_child = (int)x->n;
		par->last_child = (int)x->n;
	}
	return (int)x->n++;
}

/* Skip the declaration, comments and doctype before or between elements. */
static int
skip_misc(struct parser *p)
{
	for (;;) {
		while (p->s < p->end && is_space(*p->s))
			p->s++;
		if (p->end - p->s >= 2 && memcmp(p->s, "<?", 2) == 0) {
			const char *e = find(p->s, p->end, "?>");
			if (e == NULL)
				return fail(p, p->s, "unterminated declaration");
			p->s = e + 2;
		} else if (p->end - p->s >= 4 && memcmp(p->s, "<!--", 4) == 0) {
			const char *e = find(p->s + 4, p->end, "-->");
			if (e == NULL)
				return fail(p, p->s, "unterminated comment");
			p->s = e + 3;
		} else if (p->end - p->s >= 2 && memcmp(p->s, "<!", 2) == 0) {
			const char *e = memchr(p->s, '>', (size_t)(p->end - p->s));
			if (e == NULL)
				return fail(p, p->s, "unterminated declaration");
			p->s = e + 1;
		} else {
			return 0;
		}
	}
}

static int parse_element(struct parser *p, int parent, int depth);

/* Content after an open tag: text, comments and child elements up to the matching close. */
static int
parse_content(struct parser *p, int self, int depth)
{
	struct cascade_xml_node *n;
	const char *text = p->s;

	for (;;) {
		const char *lt = memchr(p->s, '<', (size_t)(p->end - p->s));

		if (lt == NULL)
			return fail(p, p->s, "missing closing tag");
		p->s = lt;
		if (p->end - p->s >= 4 && memcmp(p->s, "<!--", 4) == 0) {
			const char *e = find(p->s + 4, p->end, "-->");
			if (e == NULL)
				return fail(p, p->s, "unterminated comment");
			p->s = e + 3;
			continue;
		}
		if (p->end - p->s >= 2 && p->s[1] == '/')
			break;
		if (p->end - p->s >= 2 && (p->s[1] == '!' || p->s[1] == '?'))
			return fail(p, p->s, "unsupported markup inside an element");
		if (parse_element(p, self, depth + 1) == -1)
			return -1;
	}
	n = &p->x->nodes[self];
	n->text = text;
	n->text_len = (size_t)(p->s - text);
	/* Close tag: </name> */
	const char *name = p->s + 2;
	if ((size_t)(p->end - name) < n->name_len || memcmp(name, n->name, n->name_len) != 0)
		return fail(p, p->s, "closing tag does not match");
	p->s = name + n->name_len;
	while (p->s < p->end && is_space(*p->s))
		p->s++;
	if (p->s >= p->end || *p->s != '>')
		return fail(p, p->s, "closing tag does not match");
	p->s++;
	return 0;
}

static int
parse_element(struct parser *p, int parent, int depth)
{
	if (depth > XML_MAX_DEPTH)
		return fail(p, p->s, "elements nested too deeply");
	if (p->s >= p->end || *p->s != '<')
		return fail(p, p->s, "expected an element");
	const char *name = ++p->s;
	while (p->s < p->end && is_name_char(*p->s))
		p->s++;
	if (p->s == name)
		return fail(p, name, "expected an element name");

	int self = add_node(p, parent);
	if (self == -1)
		return -1;
	struct cascade_xml_node *n = &p->x->nodes[self];
	n->name = name;
	n->name_len = (size_t)(p->s - name);

	/* Attributes are kept as one raw span; only type_id is ever looked at. */
	const char *attrs = p->s;
	while (p->s < p->end && *p->s != '>' && *p->s != '/') {
		if (*p->s == '"' || *p->s == '\'') {
			const char *q = memchr(p->s + 1, *p->s, (size_t)(p->end - p->s - 1));
			if (q == NULL)
				return fail(p, p->s, "unterminated attribute value");
			p->s = q;
		}
		p->s++;
	}
	n->attrs = attrs;
	n->attrs_len = (size_t)(p->s - attrs);
	if (p->s >= p->end)
		return fail(p, name, "unterminated tag");
	if (*p->s == '/') {
		if (p->end - p->s < 2 || p->s[1] != '>')
			return fail(p, p->s, "malformed empty-element tag");
		p->s += 2;
		n->text = p->s;
		n->text_len = 0;
		return 0;
	}
	p->s++;
	return parse_content(p, self, depth);
}

int
cascade_xml_parse(const char *buf, size_t n_bytes, struct cascade_xml *x, struct fm_err *err)
{
	struct parser p = {buf, buf + n_bytes, x, err};

	memset(x, 0, sizeof *x);
	x->buf = buf;
	if (skip_misc(&p) == -1 || parse_element(&p, -1, 0) == -1 || skip_misc(&p) == -1)
		goto fail;
	if (p.s != p.end) {
		fail(&p, p.s, "text after the root element");
		goto fail;
	}
	return 0;
fail:
	cascade_xml_free(x);
	return -1;
}

void
cascade_xml_free(struct cascade_xml *x)
{
	free(x->nodes);
	x->nodes = NULL;
	x->n = x->cap = 0;
}

int
cascade_xml_child(const struct cascade_xml *x, int node, const char *name)
{
	size_t len = strlen(name);

	if (node < 0)
		return -1;
	for (int c = x->nodes[node].first_child; c >= 0; c = x->nodes[c].next)
		if (x->nodes[c].name_len == len && memcmp(x->nodes[c].name, name, len) == 0)
			return c;
	return -1;
}

size_t
cascade_xml_count_children(const struct cascade_xml *x, int node)
{
	size_t n = 0;

	if (node < 0)
		return 0;
	for (int c = x->nodes[node].first_child; c >= 0; c = x->nodes[c].next)
		n++;
	return n;
}

int
cascade_xml_text_equals(const struct cascade_xml *x, int node, const char *s)
{
	const struct cascade_xml_node *n;
	const char *t, *e;
	size_t len = strlen(s);

	if (node < 0)
		return 0;
	n = &x->nodes[node];
	t = n->text;
	e = t + n->text_len;
	while (t < e && is_space(*t))
		t++;
	while (e > t && is_space(e[-1]))
		e--;
	return (size_t)(e - t) == len && memcmp(t, s, len) == 0;
}

int
cascade_xml_attr_contains(const struct cascade_xml *x, int node, const char *s)
{
	if (node < 0)
		return 0;
	return find(x->nodes[node].attrs, x->nodes[node].attrs + x->nodes[node].attrs_len, s) !=
	       NULL;
}

void
cascade_xml_numbers_begin(const struct cascade_xml *x, int node, struct cascade_xml_numbers *it)
{
	it->s = x->nodes[node].text;
	it->end = it->s + x->nodes[node].text_len;
}

/*
 * Next whitespace-separated number of a leaf's text. Returns 1 with *out set, 0 at the end,
 * -1 for a token that is not a number. Parsing goes through a bounded copy because the
 * buffer need not end in NUL.
 */
int
cascade_xml_numbers_next(struct cascade_xml_numbers *it, double *out)
{
	char tok[64];
	char *endp;
	size_t len = 0;

	while (it->s < it->end && is_space(*it->s))
		it->s++;
	if (it->s >= it->end)
		return 0;
	while (it->s < it->end && !is_space(*it->s)) {
		if (len + 1 >= sizeof tok)
			return -1;
		tok[len++] = *it->s++;
	}
	tok[len] = '\0';
	*out = strtod(tok, &endp);
	if (*endp != '\0' || endp == tok)
		return -1;
	return 1;
}

int
cascade_xml_number(const struct cascade_xml *x, int node, double *out)
{
	struct cascade_xml_numbers it;
	double extra;

	if (node < 0)
		return -1;
	cascade_xml_numbers_begin(x, node, &it);
	if (cascade_xml_numbers_next(&it, out) != 1 || cascade_xml_numbers_next(&it, &extra) != 0)
		return -1;
	return 0;
}
