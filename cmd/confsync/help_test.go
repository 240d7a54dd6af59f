package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestHelpTexts: every command has a long help that says more than its
// one-line summary, in sentences.
func TestHelpTexts(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			// version's one line says all there is to say.
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" || sub.Name() == "version" {
				continue
			}
			t.Run(sub.CommandPath(), func(t *testing.T) {
				long := strings.TrimSpace(sub.Long)
				switch {
				case long == "":
					t.Error("no long help")
				case long == strings.TrimSpace(sub.Short):
					t.Error("the long help only repeats the short one")
				}
				first, _, _ := strings.Cut(long, "\n\n")
				if long != "" && !strings.HasSuffix(first, ".") && !strings.HasSuffix(first, ":") {
					t.Errorf("the first paragraph of the long help does not end a sentence: %q", first)
				}
				if strings.HasSuffix(sub.Short, ".") {
					t.Errorf("the short help ends with a period, unlike cobra's: %q", sub.Short)
				}
			})
			walk(sub)
		}
	}
	walk(newRootCmd())
}
