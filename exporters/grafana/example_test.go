package grafana_test

import (
	"encoding/json"
	"fmt"

	"github.com/myelon-go/myelon/exporters/grafana"
)

// Dashboard is the JSON to import into Grafana (or to write to a file
// that Grafana provisions).
func ExampleDashboard() {
	var d struct {
		Title string `json:"title"`
		UID   string `json:"uid"`
	}
	if err := json.Unmarshal(grafana.Dashboard(), &d); err != nil {
		panic(err)
	}
	fmt.Println(d.Title, d.UID)
	// Output:
	// myelon rings myelon-rings
}
