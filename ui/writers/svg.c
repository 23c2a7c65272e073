/* SPDX-License-Identifier: MIT */
/* The SVG flame graph: one self-contained file, every box drawn by the
 * writer (widths in proportion to samples, so the file reads right without
 * its script), and a small script of its own for what a viewer does: hover
 * details, click to zoom, search with the share matched, colours by kind or
 * by module. Nothing is fetched: it opens offline in any browser. The same
 * drawing serves `ftprof diff`, coloured by how each frame's share changed. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "ftprof/util.h"
#include "svg.h"

#define WIDTH 1200
#define PAD 10
#define FRAME_H 16
#define HEAD 64    /* title, subtitle, buttons */
#define FOOT 28    /* the details line */
#define FONT_W 7.2 /* an average character of 12 px Verdana, for cutting labels */
#define MIN_W 0.05 /* boxes narrower (pixels) are left out */
#define HIGHLIGHT "rgb(230,0,230)"

/* The viewer: plain DOM calls that every browser has; no network. Frames
 * carry their place in samples (data-s start, data-n count, data-d depth),
 * so zoom and search work in samples, not pixels. */
static const char script[] =
        "'use strict';\n"
        "var frames = [], details, matched, resetBtn, colourBtn, zoomed = null, byModule = false, term = "
        "null;\n"
        "function label(g) { return g.querySelector('title').textContent.split('\\n')[0]; }\n"
        "function fit(text, w) {\n"
        "  var n = Math.floor((w - 6) / cfg.fontw);\n"
        "  if (n < 3) return '';\n"
        "  var chars = Array.from(text);\n"
        "  return chars.length <= n ? text : chars.slice(0, n - 2).join('') + '..';\n"
        "}\n"
        "function place(e, x, w) {\n"
        "  e.rect.setAttribute('x', x.toFixed(2));\n"
        "  e.rect.setAttribute('width', Math.max(w, 0).toFixed(2));\n"
        "  e.text.setAttribute('x', (x + 3).toFixed(2));\n"
        "  e.text.textContent = fit(e.label, w);\n"
        "  e.g.style.display = w < 0.1 ? 'none' : '';\n"
        "}\n"
        "function paint(e) {\n"
        "  var fill = e.hit ? '" HIGHLIGHT "' : byModule ? e.g.getAttribute('data-m') : e.fill;\n"
        "  e.rect.setAttribute('fill', fill);\n"
        "}\n"
        "function zoom(g) {\n"
        "  var z = frames[+g.getAttribute('data-i')], full = cfg.width - 2 * cfg.pad;\n"
        "  var scale = full / z.n;\n"
        "  frames.forEach(function (e) {\n"
        "    if (e.d < z.d && e.s <= z.s && e.s + e.n >= z.s + z.n) {\n"
        "      place(e, cfg.pad, full);\n"
        "      e.g.classList.add('parent');\n"
        "    } else if (e.d >= z.d && e.s >= z.s && e.s + e.n <= z.s + z.n) {\n"
        "      place(e, cfg.pad + (e.s - z.s) * scale, e.n * scale);\n"
        "      e.g.classList.remove('parent');\n"
        "    } else {\n"
        "      e.g.style.display = 'none';\n"
        "    }\n"
        "  });\n"
        "  zoomed = z;\n"
        "  resetBtn.style.opacity = z.d ? 1 : 0.3;\n"
        "}\n"
        "function unzoom() { zoom(frames[0].g); zoomed = null; }\n"
        "function pct(x) { return (100 * x).toFixed(x < 0.001 ? 3 : 2) + '%'; }\n"
        "function search(t) {\n"
        "  var re = null, spans = [], sum = 0, end = -1;\n"
        "  term = t || null;\n"
        "  if (term) { try { re = new RegExp(term); } catch (err) { re = null; } }\n"
        "  frames.forEach(function (e) {\n"
        "    e.hit = !!term && e.d > 0 && (re ? re.test(e.label) : e.label.indexOf(term) >= 0);\n"
        "    if (e.hit) spans.push([e.s, e.s + e.n]);\n"
        "    paint(e);\n"
        "  });\n"
        "  spans.sort(function (a, b) { return a[0] - b[0]; });\n"
        "  spans.forEach(function (sp) {\n"
        "    if (sp[1] <= end) return;\n"
        "    sum += sp[1] - Math.max(sp[0], end);\n"
        "    end = sp[1];\n"
        "  });\n"
        "  matched.textContent = term ? 'Matched: ' + pct(sum / cfg.total) + ' (' + sum + ' of ' +\n"
        "    cfg.total + ' samples)' : '';\n"
        "  matched.setAttribute('data-share', term ? (sum / cfg.total).toFixed(6) : '');\n"
        "  return sum / cfg.total;\n"
        "}\n"
        "function ask() {\n"
        "  var t = prompt('Search frames (a regular expression):', term || '');\n"
        "  if (t !== null) search(t);\n"
        "}\n"
        "function frameOf(node) {\n"
        "  while (node && node.getAttribute && node.getAttribute('class') !== 'f' &&\n"
        "         node.getAttribute('class') !== 'f parent') node = node.parentNode;\n"
        "  return node && node.getAttribute ? node : null;\n"
        "}\n"
        "function init() {\n"
        "  details = document.getElementById('details');\n"
        "  matched = document.getElementById('matched');\n"
        "  resetBtn = document.getElementById('reset');\n"
        "  colourBtn = document.getElementById('colour');\n"
        "  var gs = document.getElementById('frames').getElementsByTagName('g');\n"
        "  for (var i = 0; i < gs.length; i++) {\n"
        "    var g = gs[i], r = g.querySelector('rect');\n"
        "    g.setAttribute('data-i', i);\n"
        "    frames.push({ g: g, rect: r, text: g.querySelector('text'), label: label(g),\n"
        "      s: +g.getAttribute('data-s'), n: +g.getAttribute('data-n'), d: +g.getAttribute('data-d'),\n"
        "      fill: r.getAttribute('fill'), hit: false });\n"
        "  }\n"
        "  var box = document.getElementById('frames');\n"
        "  box.addEventListener('mouseover', function (ev) {\n"
        "    var g = frameOf(ev.target);\n"
        "    if (g) details.textContent = g.querySelector('title').textContent.replace('\\n', ': ');\n"
        "  });\n"
        "  box.addEventListener('mouseout', function () { details.textContent = ' '; });\n"
        "  box.addEventListener('click', function (ev) {\n"
        "    var g = frameOf(ev.target);\n"
        "    if (g) zoom(g);\n"
        "  });\n"
        "  resetBtn.addEventListener('click', unzoom);\n"
        "  document.getElementById('search').addEventListener('click', ask);\n"
        "  document.getElementById('clear').addEventListener('click', function () { search(null); });\n"
        "  if (colourBtn) colourBtn.addEventListener('click', function () {\n"
        "    byModule = !byModule;\n"
        "    colourBtn.textContent = byModule ? 'Colour: module' : 'Colour: kind';\n"
        "    frames.forEach(paint);\n"
        "  });\n"
        "  document.addEventListener('keydown', function (ev) {\n"
        "    if ((ev.ctrlKey || ev.metaKey) && ev.key === 'f') { ev.preventDefault(); ask(); }\n"
        "    else if (ev.key === 'Escape') { unzoom(); search(null); }\n"
        "  });\n"
        "  var q = (location.search || '').match(/[?&]s=([^&]*)/);\n"
        "  if (q) search(decodeURIComponent(q[1].replace(/\\+/g, ' ')));\n"
        "  resetBtn.style.opacity = 0.3;\n"
        "}\n";

static const char style[] =
        "text { font-family: Verdana, 'DejaVu Sans', sans-serif; font-size: 12px; fill: #000; }\n"
        "#title { font-size: 17px; text-anchor: middle; }\n"
        "#subtitle { fill: #555; text-anchor: middle; }\n"
        ".btn { cursor: pointer; fill: #336; text-decoration: underline; }\n"
        ".f { cursor: pointer; }\n"
        ".f text { pointer-events: none; }\n"
        ".f:hover rect { stroke: #000; stroke-width: 0.5; }\n"
        ".parent { opacity: 0.55; }\n";

/* FNV-1a of s, for colours that stay the same across files. */
static uint32_t hash32(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The fill by kind: Python warm, native cool, thread roots green, states
 * violet; the shade from the function's name, so a function keeps its
 * colour everywhere. */
static void kind_fill(char *buf, size_t len, const struct flame_node *n)
{
	uint32_t h = hash32(n->function);
	unsigned a = h % 50, b = (h >> 8) % 120, c = (h >> 16) % 40;
	switch (n->kind) {
	case FLAME_PYTHON:
		snprintf(buf, len, "rgb(%u,%u,%u)", 205 + a, 95 + b, 40 + c);
		break;
	case FLAME_NATIVE:
		snprintf(buf, len, "rgb(%u,%u,%u)", 80 + a, 150 + b / 3, 200 + c);
		break;
	case FLAME_THREAD:
		snprintf(buf, len, "rgb(%u,%u,%u)", 140 + a, 200 + c, 140 + a / 2);
		break;
	case FLAME_STATE:
		snprintf(buf, len, "rgb(%u,%u,%u)", 175 + c, 150 + a / 2, 220 + a / 2);
		break;
	case FLAME_ROOT:
		snprintf(buf, len, "rgb(200,200,200)");
		break;
	}
}

/* The fill by module: a hue per file or object. */
static void module_fill(char *buf, size_t len, const struct flame_node *n)
{
	if (n->kind == FLAME_ROOT || !*n->module) {
		kind_fill(buf, len, n);
		return;
	}
	uint32_t h = hash32(n->module);
	snprintf(buf, len, "hsl(%u,%u%%,%u%%)", h % 360, 55 + (h >> 9) % 20, 62 + (h >> 17) % 12);
}

/* The fill of a difference: red grew, blue shrank, white the same; the
 * strongest change the strongest colour. */
static void diff_fill(char *buf, size_t len, double delta, double max)
{
	double t = max > 0 ? fabs(delta) / max : 0;
	unsigned v = (unsigned)lround(255 - 200 * (t > 1 ? 1 : t));
	if (delta > 0)
		snprintf(buf, len, "rgb(255,%u,%u)", v, v);
	else if (delta < 0)
		snprintf(buf, len, "rgb(%u,%u,255)", v, v);
	else
		snprintf(buf, len, "rgb(250,250,250)");
}

/* The first `chars` characters of s (whole UTF-8 sequences), with ".."
 * when it was cut, as XML. */
static void put_fitted(FILE *f, const char *s, double width)
{
	long chars = (long)floor((width - 6) / FONT_W);
	if (chars < 3)
		return;
	size_t count = 0, cut = 0, i = 0;
	for (; s[i]; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80) {
			if (count == (size_t)chars - 2)
				cut = i;
			count++;
		}
	}
	if (count <= (size_t)chars) {
		ui_put_xml(f, s);
		return;
	}
	char *piece = strndup(s, cut);
	if (piece)
		ui_put_xml(f, piece);
	free(piece);
	fputs("..", f);
}

static void put_share(FILE *f, uint64_t n, uint64_t total)
{
	double share = total ? (double)n / (double)total : 0;
	fprintf(f, "%llu sample%s, %.2f%%", (unsigned long long)n, n == 1 ? "" : "s", 100 * share);
}

struct layout {
	const struct flame *fl;
	const struct svg_info *info;
	long *before;     /* diff: the node of info->before on the same path, or -1 */
	double max_delta; /* diff: the largest change of a share */
	uint64_t total, before_total;
	unsigned height;
};

/* The change of node i's share, after less before. */
static double delta_of(const struct layout *l, uint32_t i, const struct flame_node *n)
{
	uint64_t was = 0;
	if (l->before[i] >= 0) {
		struct flame_node b;
		flame_node(l->info->before, (uint32_t)l->before[i], &b);
		was = b.total;
	}
	double after = l->total ? (double)n->total / (double)l->total : 0;
	double before = l->before_total ? (double)was / (double)l->before_total : 0;
	return after - before;
}

/* Maps every node to its counterpart in the recording before, parents
 * first (a parent comes before its children), and finds the largest
 * change. */
static int match_before(struct layout *l)
{
	size_t nodes = flame_nodes(l->fl);
	l->before = malloc(nodes * sizeof(*l->before));
	if (!l->before)
		return -1;
	l->before[0] = 0;
	for (uint32_t i = 1; i < nodes; i++) {
		struct flame_node n;
		flame_node(l->fl, i, &n);
		long p = l->before[n.parent];
		l->before[i] = p < 0 ? -1 : flame_child(l->info->before, (uint32_t)p, n.label);
		double d = fabs(delta_of(l, i, &n));
		if (d > l->max_delta)
			l->max_delta = d;
	}
	return 0;
}

static void put_frame(FILE *f, const struct layout *l, uint32_t i, const struct flame_node *n, uint64_t start)
{
	double full = WIDTH - 2 * PAD;
	double x = PAD + full * (double)start / (double)l->total;
	double w = full * (double)n->total / (double)l->total;
	unsigned y =
	        l->info->reverse ? HEAD + n->depth * FRAME_H : l->height - FOOT - (n->depth + 1) * FRAME_H;
	char fill[48], module[48];
	module_fill(module, sizeof(module), n);
	if (l->before)
		diff_fill(fill, sizeof(fill), delta_of(l, i, n), l->max_delta);
	else
		kind_fill(fill, sizeof(fill), n);
	fprintf(f, "<g class=\"f\" data-s=\"%llu\" data-n=\"%llu\" data-d=\"%u\" data-m=\"%s\"><title>",
	        (unsigned long long)start, (unsigned long long)n->total, n->depth, module);
	ui_put_xml(f, n->label);
	fputs("\n", f);
	put_share(f, n->total, l->total);
	if (n->self && n->self != n->total) {
		fputs(" (", f);
		put_share(f, n->self, l->total);
		fputs(" in itself)", f);
	}
	if (l->before) {
		double d = delta_of(l, i, n);
		double after = (double)n->total / (double)l->total;
		fprintf(f, "; before %.2f%%, %+.2f points%s", 100 * (after - d), 100 * d,
		        l->before[i] < 0 ? " (new)" : "");
	}
	fprintf(f, "</title><rect x=\"%.2f\" y=\"%u\" width=\"%.2f\" height=\"%u\" rx=\"2\" fill=\"%s\"/>", x,
	        y, w, FRAME_H - 1, fill);
	fprintf(f, "<text x=\"%.2f\" y=\"%u\">", x + 3, y + FRAME_H - 4);
	put_fitted(f, n->label, w);
	fputs("</text></g>\n", f);
}

/* Every node wide enough, depth first in label order, each at the sample
 * where its parent's children so far end. */
static int put_frames(FILE *f, const struct layout *l)
{
	unsigned depth = flame_max_depth(l->fl) + 1;
	uint64_t *next = calloc(depth + 1, sizeof(*next)); /* next[d]: the start of depth d's next child */
	if (!next)
		return -1;
	double full = WIDTH - 2 * PAD;
	uint32_t i = 0;
	while (1) {
		struct flame_node n;
		flame_node(l->fl, i, &n);
		uint64_t start = next[n.depth];
		next[n.depth] += n.total;
		bool wide = full * (double)n.total / (double)l->total >= MIN_W;
		if (wide)
			put_frame(f, l, i, &n, start);
		if (wide && n.first_child) {
			next[n.depth + 1] = start;
			i = n.first_child;
			continue;
		}
		/* up until a node has a next sibling */
		while (!n.next_sibling && i) {
			i = n.parent;
			flame_node(l->fl, i, &n);
		}
		if (!i)
			break;
		i = n.next_sibling;
	}
	free(next);
	return 0;
}

int svg_write_flame(FILE *f, const struct flame *fl, const struct svg_info *info)
{
	struct layout l = { .fl = fl, .info = info, .total = flame_total(fl) };
	if (info->before) {
		l.before_total = flame_total(info->before);
		if (match_before(&l) < 0) {
			errno = ENOMEM;
			return -1;
		}
	}
	if (!l.total)
		l.total = 1; /* an empty flame graph: the root alone, no sample */
	l.height = HEAD + (flame_max_depth(fl) + 1) * FRAME_H + FOOT + 8;
	fprintf(f,
	        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
	        "<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%u\" "
	        "viewBox=\"0 0 %d %u\" onload=\"init()\">\n"
	        "<!-- ftprof " FTPROF_VERSION " -->\n<style>\n%s</style>\n"
	        "<script type=\"text/ecmascript\"><![CDATA[\n"
	        "var cfg = { total: %llu, width: %d, pad: %d, fontw: %g };\n%s]]></script>\n",
	        WIDTH, l.height, WIDTH, l.height, style, (unsigned long long)flame_total(fl), WIDTH, PAD,
	        FONT_W, script);
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%u\" fill=\"#fbfbf6\"/>\n", WIDTH, l.height);
	fprintf(f, "<text id=\"title\" x=\"%d\" y=\"22\">", WIDTH / 2);
	ui_put_xml(f, info->title);
	fprintf(f, "</text>\n<text id=\"subtitle\" x=\"%d\" y=\"40\">", WIDTH / 2);
	ui_put_xml(f, info->subtitle);
	fputs("</text>\n", f);
	fprintf(f, "<text id=\"reset\" class=\"btn\" x=\"%d\" y=\"58\">Reset zoom</text>\n", PAD);
	fprintf(f, "<text id=\"search\" class=\"btn\" x=\"%d\" y=\"58\">Search</text>\n", WIDTH - PAD - 110);
	fprintf(f, "<text id=\"clear\" class=\"btn\" x=\"%d\" y=\"58\">Clear</text>\n", WIDTH - PAD - 50);
	if (!info->before) {
		fprintf(f, "<text id=\"colour\" class=\"btn\" x=\"%d\" y=\"58\">Colour: kind</text>\n",
		        PAD + 110);
		static const struct {
			const char *name;
			const char *fill;
		} legend[] = { { "Python", "rgb(230,150,60)" },
			       { "native", "rgb(100,170,220)" },
			       { "thread", "rgb(160,215,150)" },
			       { "state", "rgb(190,160,230)" } };
		for (size_t k = 0; k < sizeof(legend) / sizeof(legend[0]); k++) {
			int x = PAD + 230 + (int)k * 80;
			fprintf(f, "<rect x=\"%d\" y=\"48\" width=\"12\" height=\"12\" fill=\"%s\"/>", x,
			        legend[k].fill);
			fprintf(f, "<text x=\"%d\" y=\"58\">%s</text>\n", x + 16, legend[k].name);
		}
	} else {
		fprintf(f,
		        "<rect x=\"%d\" y=\"48\" width=\"12\" height=\"12\" fill=\"rgb(255,55,55)\"/>"
		        "<text x=\"%d\" y=\"58\">grew</text>\n"
		        "<rect x=\"%d\" y=\"48\" width=\"12\" height=\"12\" fill=\"rgb(55,55,255)\"/>"
		        "<text x=\"%d\" y=\"58\">shrank (share of each recording's samples)</text>\n",
		        PAD + 230, PAD + 246, PAD + 300, PAD + 316);
	}
	fprintf(f, "<text id=\"matched\" x=\"%d\" y=\"%u\" text-anchor=\"end\"> </text>\n", WIDTH - PAD,
	        l.height - 10);
	fprintf(f, "<text id=\"details\" x=\"%d\" y=\"%u\"> </text>\n", PAD, l.height - 10);
	fputs("<g id=\"frames\">\n", f);
	int ret = put_frames(f, &l);
	fputs("</g>\n</svg>\n", f);
	free(l.before);
	if (ret < 0) {
		errno = ENOMEM;
		return -1;
	}
	return writer_finish(f);
}

int svg_write(const struct profile *pr, const struct writer_opts *opts, FILE *f)
{
	struct flame *fl = flame_create(&(struct flame_opts){ .reverse = opts && opts->reverse });
	if (!fl || flame_add_profile(fl, pr) < 0) {
		flame_destroy(fl);
		errno = ENOMEM;
		return -1;
	}
	flame_finish(fl);
	struct profile_target tg;
	profile_target(pr, &tg);
	char *title = NULL, *subtitle = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&title, &len);
	if (m) {
		fprintf(m, "%s%s", opts && opts->reverse ? "Callers (icicle): " : "Flame graph: ",
		        tg.command && *tg.command ? tg.command : "Python");
		fclose(m);
	}
	m = open_memstream(&subtitle, &len);
	if (m) {
		fprintf(m, "pid %d, Python %s%s, %g Hz asked, %llu samples", (int)tg.pid, tg.version,
		        tg.free_threaded ? " free-threaded" : "", tg.rate,
		        (unsigned long long)flame_total(fl));
		fclose(m);
	}
	struct svg_info info = { .title = title ? title : "Flame graph",
		                 .subtitle = subtitle ? subtitle : "",
		                 .reverse = opts && opts->reverse };
	int ret = svg_write_flame(f, fl, &info);
	int saved = errno;
	free(title);
	free(subtitle);
	flame_destroy(fl);
	errno = saved;
	return ret;
}
