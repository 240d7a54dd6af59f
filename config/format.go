package config

import "strconv"

func formatPercent(p float64) string {
	return strconv.FormatFloat(p, 'f', -1, 64) + "%"
}

func itoa(n int) string { return strconv.Itoa(n) }
