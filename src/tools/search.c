/*
 * tools/search.c - finds tools by words: ranked text retrieval over the
 * registry's tools.
 */
#include "tools/search.h"

#include <ctype.h>
#include <libstemmer.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

#define W_NAME        3.0f
#define W_TITLE       3.0f
#define W_KEYWORDS    2.0f
#define W_PARAM       1.0f
#define W_DESC        0.5f /* an occurrence */
#define DESC_COUNTED  3    /* occurrences of a word in a description counted */
#define W_SYNONYM     0.6  /* a synonym's share of the query word's weight */
#define K1            3.0  /* term weight saturation */
#define NAME_BONUS    4.0  /* times the share of the name's words matched */
#define W_IMPLIED     0.3  /* "list" when the query names no verb ("firewalls") */
#define MAX_FORMS     12   /* a query word and its synonyms */
#define DOC_TERMS_MAX 512  /* distinct words of one tool indexed */

/* in a posting's flags */
#define IN_NAME 1

/* --- words ---------------------------------------------------------------- */

static const char *const stop_words[] = {
    "a",    "about", "all",  "an",    "and",   "any",  "are",   "as",   "at",   "be",   "by",
    "can",  "do",    "does", "for",   "from",  "have", "how",   "i",    "in",   "into", "is",
    "it",   "its",   "me",   "my",    "need",  "of",   "on",    "or",   "one",  "our",  "please",
    "some", "that",  "the",  "their", "them",  "then", "there", "this", "to",   "us",   "using",
    "via",  "want",  "we",   "what",  "which", "with", "would", "you",  "your", NULL};

static const char *const verb_groups[][MAX_FORMS] = {
    {"list", "show", "get", "view", "display", "fetch", "retrieve", "read", "describe", "find",
     NULL},
    {"create", "add", "new", "make", "install", "provision", "launch", NULL},
    {"delete", "remove", "destroy", "drop", "uninstall", "erase", "revoke", NULL},
    {"update", "change", "modify", "edit", "rename", "patch", "alter", NULL},
};
#define N_GROUPS (sizeof verb_groups / sizeof verb_groups[0])

static int is_stop(const char *w)
{
    for (const char *const *s = stop_words; *s; s++)
        if (strcmp(*s, w) == 0)
            return 1;
    return 0;
}

typedef void (*word_fn)(void *arg, const char *stem);

/* Calls fn with the stem of every word of text[0..len), in order. */
static void each_word(struct sb_stemmer *st, const char *text, size_t len, word_fn fn, void *arg)
{
    char w[TOOL_SEARCH_WORD_MAX + 1];
    size_t i = 0;
    while (i < len) {
        while (i < len && !isalnum((unsigned char)text[i]))
            i++;
        size_t n = 0;
        while (i < len && isalnum((unsigned char)text[i])) {
            unsigned char c = (unsigned char)text[i];
            /* camelCase: a new word at "aB", and at "BCd" before the C */
            if (n > 0 && isupper(c) &&
                (islower((unsigned char)text[i - 1]) ||
                 (i + 1 < len && islower((unsigned char)text[i + 1]) &&
                  isupper((unsigned char)text[i - 1]))))
                break;
            if (n < TOOL_SEARCH_WORD_MAX)
                w[n++] = (char)tolower(c);
            i++;
        }
        w[n] = '\0';
        if (n < 2 || is_stop(w))
            continue;
        const sb_symbol *s = sb_stemmer_stem(st, (const sb_symbol *)w, (int)n);
        if (!s)
            abort(); /* out of memory */
        fn(arg, (const char *)s);
    }
}

static struct sb_stemmer *stemmer_new(void)
{
    struct sb_stemmer *st = sb_stemmer_new("english", "UTF_8");
    if (!st)
        abort();
    return st;
}

static unsigned str_hash(const char *s)
{
    unsigned h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* --- the index ------------------------------------------------------------ */

struct posting {
    uint32_t doc;
    float w;        /* the tool's weighted count of the word */
    uint32_t flags; /* IN_NAME */
};

struct term {
    char *stem;
    struct posting *p;
    int n, cap;
};

static struct {
    struct term *terms; /* open addressing by stem; stem NULL: empty */
    unsigned slots;     /* a power of two */
    int n_terms;
    int n_docs;
    unsigned char *name_words; /* per tool: words of its name (at most 255) */
    unsigned char *deprecated; /* per tool */
} ix;

static pthread_once_t ix_once = PTHREAD_ONCE_INIT;

static struct term *term_slot(const char *stem, int create)
{
    if (create && 2u * (unsigned)(ix.n_terms + 1) > ix.slots) {
        unsigned slots = ix.slots ? 2 * ix.slots : 1024;
        struct term *t = xcalloc(slots, sizeof *t);
        for (unsigned i = 0; i < ix.slots; i++) {
            if (!ix.terms[i].stem)
                continue;
            unsigned k = str_hash(ix.terms[i].stem) & (slots - 1);
            while (t[k].stem)
                k = (k + 1) & (slots - 1);
            t[k] = ix.terms[i];
        }
        free(ix.terms);
        ix.terms = t;
        ix.slots = slots;
    }
    if (!ix.slots)
        return NULL;
    for (unsigned k = str_hash(stem) & (ix.slots - 1);; k = (k + 1) & (ix.slots - 1)) {
        if (!ix.terms[k].stem) {
            if (!create)
                return NULL;
            ix.terms[k].stem = xstrdup(stem);
            ix.n_terms++;
            return &ix.terms[k];
        }
        if (strcmp(ix.terms[k].stem, stem) == 0)
            return &ix.terms[k];
    }
}

/* One tool's words while it is indexed (or scored apart). */
struct doc_terms {
    struct {
        char stem[TOOL_SEARCH_WORD_MAX * 4 + 1];
        float w;
        int desc_seen;
        uint32_t flags;
    } t[DOC_TERMS_MAX];
    int n;
    float field_w;  /* the weight of the field being read */
    uint32_t flags; /* of the field being read */
    int desc;       /* 1 while the description is read */
    int name_words; /* words of the name */
};

static void doc_add(void *arg, const char *stem)
{
    struct doc_terms *d = arg;
    if (d->flags & IN_NAME)
        d->name_words++;
    if (strlen(stem) >= sizeof d->t[0].stem)
        return;
    int i = 0;
    while (i < d->n && strcmp(d->t[i].stem, stem) != 0)
        i++;
    if (i == d->n) {
        if (d->n == DOC_TERMS_MAX)
            return;
        memcpy(d->t[i].stem, stem, strlen(stem) + 1);
        d->t[i].w = 0;
        d->t[i].desc_seen = 0;
        d->t[i].flags = 0;
        d->n++;
    }
    if (d->desc) {
        if (d->t[i].desc_seen++ >= DESC_COUNTED)
            return;
    } else if (d->t[i].flags & d->flags & IN_NAME) {
        return; /* a word twice in a name counts once */
    }
    d->t[i].w += d->field_w;
    d->t[i].flags |= d->flags;
}

static void doc_field(struct doc_terms *d, struct sb_stemmer *st, const char *text, size_t max,
                      float w, uint32_t flags, int desc)
{
    if (!text)
        return;
    size_t len = strlen(text);
    if (len > max)
        len = max;
    d->field_w = w;
    d->flags = flags;
    d->desc = desc;
    each_word(st, text, len, doc_add, d);
}

/* Reads every field of one tool into d. */
static void doc_read(struct doc_terms *d, struct sb_stemmer *st, const char *name,
                     const char *title, const char *description, const char *keywords,
                     struct json_object *schema)
{
    d->n = 0;
    d->name_words = 0;
    doc_field(d, st, name, SIZE_MAX, W_NAME, IN_NAME, 0);
    doc_field(d, st, title, SIZE_MAX, W_TITLE, 0, 0);
    doc_field(d, st, keywords, SIZE_MAX, W_KEYWORDS, 0, 0);
    struct json_object *props = NULL;
    if (schema && json_object_object_get_ex(schema, "properties", &props) &&
        json_object_is_type(props, json_type_object)) {
        json_object_object_foreach(props, key, val)
        {
            (void)val;
            doc_field(d, st, key, SIZE_MAX, W_PARAM, 0, 0);
        }
    }
    doc_field(d, st, description, TOOL_SEARCH_DESC_MAX, W_DESC, 0, 1);
}

static void ix_build(void)
{
    struct sb_stemmer *st = stemmer_new();
    struct doc_terms *d = xmalloc(sizeof *d);
    int n = tool_static_count();
    ix.n_docs = n;
    ix.name_words = xcalloc((size_t)n + 1, 1);
    ix.deprecated = xcalloc((size_t)n + 1, 1);
    for (int i = 0; i < n; i++) {
        const struct tool_def *def = tool_static_at(i);
        struct json_object *schema = json_tokener_parse(def->input_schema);
        doc_read(d, st, def->name, def->title, def->description, def->keywords, schema);
        json_object_put(schema);
        ix.name_words[i] = (unsigned char)(d->name_words > 255 ? 255 : d->name_words);
        ix.deprecated[i] = (unsigned char)(def->deprecated != 0);
        for (int k = 0; k < d->n; k++) {
            struct term *t = term_slot(d->t[k].stem, 1);
            if (t->n == t->cap) {
                t->cap = t->cap ? 2 * t->cap : 4;
                t->p = xrealloc(t->p, (size_t)t->cap * sizeof *t->p);
            }
            t->p[t->n++] = (struct posting){(uint32_t)i, d->t[k].w, d->t[k].flags};
        }
    }
    /* posting lists at their final size */
    for (unsigned k = 0; k < ix.slots; k++)
        if (ix.terms[k].stem && ix.terms[k].n < ix.terms[k].cap) {
            ix.terms[k].p = xrealloc(ix.terms[k].p, (size_t)ix.terms[k].n * sizeof(struct posting));
            ix.terms[k].cap = ix.terms[k].n;
        }
    free(d);
    sb_stemmer_delete(st);
}

static double idf(int df)
{
    double n = ix.n_docs > 0 ? ix.n_docs : 1;
    return log(1.0 + (n - df + 0.5) / (df + 0.5));
}

static double saturate(double w)
{
    return w * (K1 + 1.0) / (w + K1);
}

/* --- queries -------------------------------------------------------------- */

struct word;
static double form_idf(const struct word *w, int f);

struct form {
    char *stem;
    double weight;
};

struct word {
    struct form forms[MAX_FORMS];
    int n_forms;
    int verb; /* 1: a word of a verb group */
};

struct tool_query {
    struct word words[TOOL_SEARCH_MAX_WORDS + 1]; /* + the implied "list" */
    int n_words;
    int n_asked;           /* the words of the query: the first n_asked of words */
    struct sb_stemmer *st; /* only while parsing */
};

static int query_has(const struct tool_query *q, const char *stem)
{
    for (int i = 0; i < q->n_words; i++)
        for (int f = 0; f < q->words[i].n_forms; f++)
            if (strcmp(q->words[i].forms[f].stem, stem) == 0)
                return 1;
    return 0;
}

static void form_add(struct word *w, const char *stem, double weight)
{
    for (int f = 0; f < w->n_forms; f++)
        if (strcmp(w->forms[f].stem, stem) == 0)
            return;
    if (w->n_forms == MAX_FORMS)
        return;
    w->forms[w->n_forms].stem = xstrdup(stem);
    w->forms[w->n_forms].weight = weight;
    w->n_forms++;
}

struct stem_out {
    char stem[TOOL_SEARCH_WORD_MAX * 4 + 1];
};

static void stem_one(void *arg, const char *stem)
{
    struct stem_out *o = arg;
    if (!o->stem[0] && strlen(stem) < sizeof o->stem)
        memcpy(o->stem, stem, strlen(stem) + 1);
}

static void query_word(void *arg, const char *stem_buf)
{
    struct tool_query *q = arg;
    /* stem_buf is the stemmer's own buffer: the synonyms' stems below reuse it */
    char stem[TOOL_SEARCH_WORD_MAX * 4 + 1];
    if (strlen(stem_buf) >= sizeof stem)
        return;
    memcpy(stem, stem_buf, strlen(stem_buf) + 1);
    if (q->n_words == TOOL_SEARCH_MAX_WORDS || query_has(q, stem))
        return;
    struct word *w = &q->words[q->n_words++];
    w->n_forms = 0;
    w->verb = 0;
    form_add(w, stem, 1.0);
    for (size_t g = 0; g < N_GROUPS; g++) {
        int member = 0;
        for (int k = 0; verb_groups[g][k] && !member; k++) {
            struct stem_out o = {{0}};
            each_word(q->st, verb_groups[g][k], strlen(verb_groups[g][k]), stem_one, &o);
            member = strcmp(o.stem, stem) == 0;
        }
        w->verb |= member;
        for (int k = 0; member && verb_groups[g][k]; k++) {
            struct stem_out o = {{0}};
            each_word(q->st, verb_groups[g][k], strlen(verb_groups[g][k]), stem_one, &o);
            if (o.stem[0])
                form_add(w, o.stem, W_SYNONYM);
        }
    }
}

struct tool_query *tool_query_new(const char *text)
{
    struct tool_query *q = xcalloc(1, sizeof *q);
    q->st = stemmer_new();
    each_word(q->st, text, strlen(text), query_word, q);
    q->n_asked = q->n_words;
    if (q->n_words == 0) {
        sb_stemmer_delete(q->st);
        free(q);
        return NULL;
    }
    /* a query that names no verb ("firewalls", "droplet backups") most
     * likely asks for a list: "list" counts a little, as an extra word
     * that no tool needs to match */
    int verbs = 0;
    for (int i = 0; i < q->n_words; i++)
        verbs += q->words[i].verb;
    if (!verbs) {
        struct stem_out o = {{0}};
        each_word(q->st, "list", 4, stem_one, &o);
        struct word *w = &q->words[q->n_words++];
        w->n_forms = 0;
        w->verb = 1;
        form_add(w, o.stem, W_IMPLIED);
    }
    sb_stemmer_delete(q->st);
    q->st = NULL;
    return q;
}

void tool_query_free(struct tool_query *q)
{
    if (!q)
        return;
    for (int i = 0; i < q->n_words; i++)
        for (int f = 0; f < q->words[i].n_forms; f++)
            free(q->words[i].forms[f].stem);
    free(q);
}

/* The idf of a word's form f: a synonym's never above the word's own (a
 * rarer synonym, "destroy" for "delete", must not outweigh the word), nor,
 * when no tool has the word itself ("show"), above the commonest form's. */
static double form_idf(const struct word *w, int f)
{
    const struct term *t = term_slot(w->forms[f].stem, 0);
    double v = idf(t ? t->n : 0);
    if (f == 0)
        return v;
    const struct term *own = term_slot(w->forms[0].stem, 0);
    if (own)
        return idf(own->n) < v ? idf(own->n) : v;
    for (int g = 1; g < w->n_forms; g++) {
        const struct term *o = term_slot(w->forms[g].stem, 0);
        if (o && idf(o->n) < v)
            v = idf(o->n);
    }
    return v;
}

int tool_search_hit_cmp(const void *a, const void *b)
{
    const struct tool_search_hit *x = a, *y = b;
    if (x->deprecated != y->deprecated)
        return x->deprecated - y->deprecated;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    if (x->index < 0 || y->index < 0)
        return (x->index < 0) - (y->index < 0);
    return x->index - y->index;
}

/* The final score from the summed word scores, the words matched and the
 * name words matched. */
static double finish(const struct tool_query *q, double sum, int matched, int name_hits,
                     int name_words)
{
    double s = sum * matched / q->n_asked;
    if (name_words > 0)
        s += NAME_BONUS * (name_hits > name_words ? name_words : name_hits) / name_words;
    return s;
}

/* Puts h into the best max of out[0..*n), kept sorted. */
static void keep_best(struct tool_search_hit *out, int *n, int max, const struct tool_search_hit *h)
{
    if (max <= 0)
        return;
    if (*n == max && tool_search_hit_cmp(h, &out[max - 1]) >= 0)
        return;
    int i = *n < max ? (*n)++ : max - 1;
    while (i > 0 && tool_search_hit_cmp(h, &out[i - 1]) < 0) {
        out[i] = out[i - 1];
        i--;
    }
    out[i] = *h;
}

int tool_search_static(const struct tool_query *q, tool_search_keep_fn keep, void *arg,
                       struct tool_search_hit *out, int max, int *total)
{
    pthread_once(&ix_once, ix_build);
    *total = 0;
    int n = ix.n_docs;
    if (n == 0)
        return 0;
    double *score = xcalloc((size_t)n, sizeof *score);
    double *best = xmalloc((size_t)n * sizeof *best);
    uint32_t *seen = xcalloc((size_t)n, sizeof *seen);   /* query words matched, a bit each */
    uint32_t *named = xcalloc((size_t)n, sizeof *named); /* of them, in the name */
    int *touched = xmalloc((size_t)n * sizeof *touched);
    int n_touched = 0;
    for (int i = 0; i < q->n_words; i++) {
        uint32_t bit = 1u << i;
        for (int f = 0; f < q->words[i].n_forms; f++) {
            const struct term *t = term_slot(q->words[i].forms[f].stem, 0);
            if (!t)
                continue;
            double base = q->words[i].forms[f].weight * form_idf(&q->words[i], f);
            for (int k = 0; k < t->n; k++) {
                const struct posting *p = &t->p[k];
                double c = base * saturate(p->w);
                if (!seen[p->doc])
                    touched[n_touched++] = (int)p->doc;
                if (!(seen[p->doc] & bit)) {
                    seen[p->doc] |= bit;
                    score[p->doc] += c;
                    best[p->doc] = c;
                } else if (c > best[p->doc]) {
                    score[p->doc] += c - best[p->doc];
                    best[p->doc] = c;
                }
                if (p->flags & IN_NAME)
                    named[p->doc] |= bit;
            }
        }
    }
    uint32_t asked = (1u << q->n_asked) - 1;
    int written = 0;
    for (int k = 0; k < n_touched; k++) {
        int doc = touched[k];
        if (!(seen[doc] & asked))
            continue; /* only the implied "list" */
        const struct tool_def *d = tool_static_at(doc);
        if (keep && !keep(arg, d))
            continue;
        (*total)++;
        struct tool_search_hit h = {
            .def = d,
            .index = doc,
            .score = finish(q, score[doc], __builtin_popcount(seen[doc] & asked),
                            __builtin_popcount(named[doc]), ix.name_words[doc]),
            .deprecated = ix.deprecated[doc],
        };
        keep_best(out, &written, max, &h);
    }
    free(score);
    free(best);
    free(seen);
    free(named);
    free(touched);
    return written;
}

double tool_search_score(const struct tool_query *q, const char *name, const char *title,
                         const char *description, const char *keywords, struct json_object *schema)
{
    pthread_once(&ix_once, ix_build);
    struct sb_stemmer *st = stemmer_new();
    struct doc_terms *d = xmalloc(sizeof *d);
    doc_read(d, st, name, title, description, keywords, schema);
    sb_stemmer_delete(st);
    double sum = 0;
    int matched = 0, name_hits = 0;
    for (int i = 0; i < q->n_words; i++) {
        double top = 0;
        int in_name = 0;
        for (int f = 0; f < q->words[i].n_forms; f++) {
            for (int k = 0; k < d->n; k++) {
                if (strcmp(d->t[k].stem, q->words[i].forms[f].stem) != 0)
                    continue;
                double c =
                    q->words[i].forms[f].weight * form_idf(&q->words[i], f) * saturate(d->t[k].w);
                if (c > top)
                    top = c;
                in_name |= (d->t[k].flags & IN_NAME) != 0;
            }
        }
        if (top > 0) {
            sum += top;
            matched += i < q->n_asked;
            name_hits += in_name;
        }
    }
    int name_words = d->name_words;
    free(d);
    return matched ? finish(q, sum, matched, name_hits, name_words) : 0;
}
