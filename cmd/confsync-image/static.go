package main

import (
	"debug/elf"
	"fmt"
)

// checkStatic refuses a binary that needs a dynamic loader or shared
// libraries: the image has neither (build it with CGO_ENABLED=0).
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("the binary %s is not a Linux ELF executable: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("the binary %s is dynamically linked (it names an interpreter): build it with CGO_ENABLED=0", path)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		return fmt.Errorf("the binary %s needs shared libraries %v: build it with CGO_ENABLED=0", path, libs)
	}
	return nil
}
