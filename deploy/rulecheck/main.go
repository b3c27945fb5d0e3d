// rulecheck checks Prometheus alert rule files as `promtool check rules` does (the same
// rulefmt package: YAML shape, PromQL, templates) and the PromQL of Grafana dashboard
// panels. It exists because promtool itself pulls in every service-discovery SDK and took
// over 40 minutes to build here (docs/OPERATIONS.md); this builds in a fraction of that.
//
// Usage: rulecheck FILE... (*.yml / *.yaml: rule files; *.json: Grafana dashboards)
package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// Grafana's variables, as Grafana would put them in before sending the query.
var grafanaVariables = strings.NewReplacer(
	"$__rate_interval", "1m", "$__interval", "1m", "$__range", "1h",
)

type dashboard struct {
	Panels []struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

func checkRules(file string, p parser.Parser) []error {
	groups, errs := rulefmt.ParseFile(file, false, model.UTF8Validation, p, slog.Default())
	if len(errs) == 0 {
		n := 0
		for _, g := range groups.Groups {
			n += len(g.Rules)
		}
		fmt.Printf("%s: %d rules found\n", file, n)
	}
	return errs
}

func checkDashboard(file string, p parser.Parser) []error {
	raw, err := os.ReadFile(file)
	if err != nil {
		return []error{err}
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		return []error{fmt.Errorf("%s: %w", file, err)}
	}
	var errs []error
	n := 0
	for _, panel := range d.Panels {
		for _, target := range panel.Targets {
			n++
			if _, err := p.ParseExpr(grafanaVariables.Replace(target.Expr)); err != nil {
				errs = append(errs, fmt.Errorf("%s: panel %q: %w", file, panel.Title, err))
			}
		}
	}
	if len(errs) == 0 {
		fmt.Printf("%s: %d queries parsed\n", file, n)
	}
	return errs
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: rulecheck FILE...")
		os.Exit(2)
	}
	p := parser.NewParser(parser.Options{})
	failed := false
	for _, file := range os.Args[1:] {
		var errs []error
		if strings.HasSuffix(file, ".json") {
			errs = checkDashboard(file, p)
		} else {
			errs = checkRules(file, p)
		}
		for _, err := range errs {
			failed = true
			fmt.Fprintf(os.Stderr, "FAILED: %v\n", err)
		}
	}
	if failed {
		os.Exit(1)
	}
}
