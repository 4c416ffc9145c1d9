// Package charts draws the staff console's charts as SVG on the server:
// lines, stacked bars and stacked areas over days (TimeChart), a scatter
// plot (Scatter), horizontal bars (Bars) and headline tiles (Tiles).
//
// Design choices, and why:
//
//   - Server-rendered SVG, no charting library and no script: the console's
//     Content-Security-Policy allows no inline script or style, and a page
//     that arrives complete needs no build step, no CDN and no JavaScript
//     to be read. Everything is styled with SVG presentation attributes
//     (fill, stroke, font-size), which the policy allows; the text takes
//     the page's font by inheritance.
//   - Every string that reaches the SVG (titles, series names, intent
//     names, segment profiles, tooltips) is escaped here, as text or as an
//     attribute value, and stripped of what XML cannot carry (invalid
//     UTF-8, control characters). The output is therefore well-formed XML
//     and safe to put in a page as it is, which is what the template.HTML
//     the charts return asserts. The tests parse every chart as XML and
//     feed them markup as labels.
//   - Accessible by construction: each chart is one role="img" element
//     named by its title (aria-label and <title>) and described by a
//     <desc> summarizing the data; every bar, point and day column has a
//     <title>, which browsers show as a tooltip.
//   - An empty chart says "No data yet" (or the caller's words) in a box
//     instead of drawing axes around nothing.
//   - Input never panics a chart: missing and non-finite values are gaps,
//     series of the wrong length are cut or padded, sizes are clamped,
//     and tick computation is bounded for any magnitude.
//
// Charts scale to their container (width 100%, a viewBox for the aspect
// ratio); their coordinates are pixels at the given Width.
package charts
