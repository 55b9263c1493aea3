#include "condense/series/series_page.hpp"

#include <fmt/format.h>

#include "condense/report/html_report.hpp"

namespace condense {

namespace {

std::string sections_html(const std::vector<PageSection>& sections) {
  std::string html;
  for (const PageSection& section : sections) {
    html += "<h2>" + html_escape(section.heading) + "</h2>\n";
    for (const PageFigures& figures : section.figures) {
      if (!figures.heading.empty()) html += "<h3>" + figures.heading + "</h3>\n";
      for (const PageImage& image : figures.images) {
        const std::string img =
            fmt::format("<img src=\"{}\" alt=\"{}\">", html_escape(image.image.string()),
                        html_escape(image.alt.empty() ? image.image.string() : image.alt));
        html += image.link.empty() ? "<p>" + img + "</p>\n"
                                   : fmt::format("<p><a href=\"{}\">{}</a></p>\n",
                                                 html_escape(image.link.string()), img);
      }
    }
  }
  return html;
}

}  // namespace

std::string series_page_html(const SeriesPage& page, const std::filesystem::path& out) {
  std::string html = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>{0}</title>\n"
      "<style>body{{font-family:sans-serif;max-width:1400px;margin:1em auto;padding:0 1em}}"
      "table{{border-collapse:collapse;font-size:0.85em}}td,th{{border:1px solid #ccc;"
      "padding:2px 6px;text-align:right}}img{{max-width:100%}}.notes{{background:#fff4e0;"
      "padding:0.5em 1em}}.failed td{{background:#fde0dc}}</style></head><body>\n<h1>{0}</h1>\n"
      "<p>{1}</p>\n{2}\n",
      html_escape(page.title), html_escape(page.description), page.intro_html);
  if (!page.notes.empty()) {
    html += "<div class=\"notes\"><b>Notes</b><ul>";
    for (const auto& note : page.notes) html += "<li>" + html_escape(note) + "</li>";
    html += "</ul></div>\n";
  }
  html += sections_html(page.before_table);
  html += "<h2>Runs</h2>\n<div style=\"overflow-x:auto\"><table>\n<tr>";
  for (const auto& column : page.columns) html += "<th>" + html_escape(column) + "</th>";
  html += "</tr>\n";
  for (const RunRow& row : page.rows) {
    const bool shaded = page.shade_unfinished && row_value(row, "status") != "completed";
    html += shaded ? "<tr class=\"failed\">" : "<tr>";
    for (const auto& column : page.columns) {
      const std::string cell = html_escape(row_value(row, column));
      std::error_code error;
      const bool link = column == "run" &&
                        std::filesystem::exists(out / row_value(row, "run") / "report.html", error);
      html += link ? fmt::format("<td><a href=\"{0}/report.html\">{0}</a></td>", cell)
                   : "<td>" + cell + "</td>";
    }
    html += "</tr>\n";
  }
  html += "</table></div>\n";
  html += sections_html(page.after_table);
  html += "</body></html>\n";
  return html;
}

}  // namespace condense
