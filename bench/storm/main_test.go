package storm

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

var (
	writeReport = flag.Bool("storm.write", false, "write the run to ../STORM.md (bench/STORM.md); needs the full sizes, so not with -short or -race")
	seedFlag    = flag.Uint64("storm.seed", 1, "seed of the simulated network delays, the clients' phases and the jittered pauses")
)

// reportingM runs the tests, then writes STORM.md when asked to and every scenario ran.
type reportingM struct{ m *testing.M }

func (r reportingM) Run() int {
	code := r.m.Run()
	if code != 0 || !*writeReport {
		return code
	}
	if err := writeStormMD("../STORM.md"); err != nil {
		fmt.Fprintln(os.Stderr, "storm:", err)
		return 1
	}
	fmt.Println("storm: wrote bench/STORM.md")
	return 0
}

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(reportingM{m})
}
