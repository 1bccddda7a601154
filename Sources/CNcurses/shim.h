#ifndef SAESCOPE_CNCURSES_SHIM_H
#define SAESCOPE_CNCURSES_SHIM_H
// SwiftPM drops pkg-config's defines, so wide-character curses is switched on here,
// before the header is read; without it get_wch/setcchar/cchar_t are missing.
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#include <locale.h>
#include <langinfo.h>
#include <stdio.h>
#include <wchar.h>
#include <ncursesw/curses.h>

// Swift 6 rejects C globals (stdscr, stdout, COLORS, ...) and cannot import function-like
// macros (A_BOLD, BUTTON4_PRESSED, KEY_F(n), mvadd_wch), so the Terminal target reaches them
// through these small wrappers. Nothing here keeps state.

/// newterm for terminal type `type` on the process's own stdout/stdin (Swift 6 cannot name the
/// C `stdout` global). NULL when terminfo has no usable entry for `type`.
static inline SCREEN *saescope_newterm(const char *type) { return newterm(type, stdout, stdin); }

static inline WINDOW *saescope_stdscr(void) { return stdscr; }
static inline WINDOW *saescope_curscr(void) { return curscr; }
static inline int saescope_colors(void) { return COLORS; }
static inline int saescope_color_pairs(void) { return COLOR_PAIRS; }
static inline int saescope_screen_width(void) { return getmaxx(stdscr); }
static inline int saescope_screen_height(void) { return getmaxy(stdscr); }

static inline attr_t saescope_a_normal(void) { return A_NORMAL; }
static inline attr_t saescope_a_bold(void) { return A_BOLD; }
static inline attr_t saescope_a_underline(void) { return A_UNDERLINE; }
static inline attr_t saescope_a_reverse(void) { return A_REVERSE; }
static inline attr_t saescope_a_dim(void) { return A_DIM; }

/// The C library's column width of `c` (-1: not printable in this locale). glibc declares
/// wcwidth only under _XOPEN_SOURCE, which the system module was not built with; the symbol is
/// always there.
extern int wcwidth(wchar_t c);
static inline int saescope_wcwidth(wchar_t c) { return wcwidth(c); }

static inline int saescope_key_f0(void) { return KEY_F0; }

static inline mmask_t saescope_all_mouse_events(void) { return ALL_MOUSE_EVENTS; }
static inline mmask_t saescope_report_mouse_position(void) { return REPORT_MOUSE_POSITION; }
/// The BUTTONn_PRESSED / _RELEASED / _CLICKED / _DOUBLE_CLICKED / _TRIPLE_CLICKED bits of
/// button n (1...5); 0 for other n.
static inline mmask_t saescope_button_pressed(int n) { return (n >= 1 && n <= 5) ? NCURSES_MOUSE_MASK(n, NCURSES_BUTTON_PRESSED) : 0; }
static inline mmask_t saescope_button_released(int n) { return (n >= 1 && n <= 5) ? NCURSES_MOUSE_MASK(n, NCURSES_BUTTON_RELEASED) : 0; }
static inline mmask_t saescope_button_clicked(int n) { return (n >= 1 && n <= 5) ? NCURSES_MOUSE_MASK(n, NCURSES_BUTTON_CLICKED) : 0; }
static inline mmask_t saescope_button_double_clicked(int n) { return (n >= 1 && n <= 5) ? NCURSES_MOUSE_MASK(n, NCURSES_DOUBLE_CLICKED) : 0; }
static inline mmask_t saescope_button_triple_clicked(int n) { return (n >= 1 && n <= 5) ? NCURSES_MOUSE_MASK(n, NCURSES_TRIPLE_CLICKED) : 0; }

/// Writes one cell at (y, x) of stdscr: `wch` is the spacing character followed by up to
/// CCHARW_MAX - 1 combining characters, NUL-terminated. The colour pair goes through setcchar's
/// `opts` so pairs above 32767 work (ncurses 6.1 extended pairs). Returns mvwadd_wch's result;
/// ERR at the bottom-right cell is expected (the cursor cannot advance) and harmless.
static inline int saescope_put_cell(int y, int x, const wchar_t *wch, attr_t attrs, int pair) {
    cchar_t cc;
    int extended = pair;
    if (setcchar(&cc, wch, attrs, 0, &extended) == ERR) return ERR;
    return mvwadd_wch(stdscr, y, x, &cc);
}
#endif
