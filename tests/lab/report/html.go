package report

import (
	"html/template"
	"os"
)

// KV is one line of the environment or parameter tables.
type KV struct{ Key, Value string }

// Table is a small table shown with a figure.
type Table struct {
	Head []string
	Rows [][]string
}

// Figure is one section of the report: a chart or two, a table, and the
// text that explains them.
type Figure struct {
	ID, Heading string
	SVGs        []template.HTML
	Text        []string
	Table       *Table
}

// Page is the whole report.
type Page struct {
	Title   string
	Command string
	Env     []KV
	Figures []Figure
	Files   []KV
}

var page = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body { font-family: sans-serif; max-width: 62rem; margin: 2rem auto; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.5rem; border-bottom: 1px solid #ccc; }
figure { margin: 1rem 0; } figure svg { width: 100%; height: auto; max-width: 48rem; display: block; }
table { border-collapse: collapse; font-size: 0.9rem; margin: 0.5rem 0; }
td, th { border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: left; }
code, pre { background: #f4f4f4; padding: 0.1rem 0.3rem; }
pre { white-space: pre-wrap; padding: 0.5rem; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p>Made by:</p>
<pre>{{.Command}}</pre>
<table>{{range .Env}}<tr><th>{{.Key}}</th><td>{{.Value}}</td></tr>{{end}}</table>
<p>Contents: {{range .Figures}}<a href="#{{.ID}}">{{.Heading}}</a> · {{end}}<a href="#files">files</a></p>
{{range .Figures}}
<section id="{{.ID}}">
<h2>{{.Heading}}</h2>
{{range .SVGs}}<figure>{{.}}</figure>{{end}}
{{range .Text}}<p>{{.}}</p>{{end}}
{{with .Table}}<table><tr>{{range .Head}}<th>{{.}}</th>{{end}}</tr>{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</table>{{end}}
</section>
{{end}}
<h2 id="files">Files</h2>
<table>{{range .Files}}<tr><td><a href="{{.Key}}">{{.Key}}</a></td><td>{{.Value}}</td></tr>{{end}}</table>
</body>
</html>
`))

// WriteHTML writes the page to path.
func WriteHTML(path string, p Page) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := page.Execute(f, p); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
