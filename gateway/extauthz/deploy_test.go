package extauthz

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
)

const deployDir = "../../deploy"

// yamlDocs decodes every YAML document of a file, strictly as YAML.
func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []map[string]any
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		docs = append(docs, d)
	}
	if len(docs) == 0 {
		t.Fatalf("%s: no YAML document", path)
	}
	return docs
}

// TestDeployManifests parses every manifest under deploy/ (the Helm chart
// aside: cmd/tenuo-authorizer's TestHelmChart renders it with Helm), checks each Kubernetes object has its kind and
// name, and that the gateway.yaml they carry loads as the commands load it.
func TestDeployManifests(t *testing.T) {
	n := 0
	err := filepath.WalkDir(deployDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && strings.HasSuffix(path, "/helm") {
			return filepath.SkipDir
		}
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		for _, doc := range yamlDocs(t, path) {
			n++
			if strings.Contains(path, "/envoy/") {
				continue
			}
			md, _ := doc["metadata"].(map[string]any)
			if doc["apiVersion"] == nil || doc["kind"] == nil || md["name"] == nil {
				t.Errorf("%s: an object without apiVersion, kind or metadata.name", path)
			}
			if data, ok := doc["data"].(map[string]any); ok {
				if cfg, ok := data["gateway.yaml"].(string); ok {
					if _, err := toolmap.Parse([]byte(cfg), path); err != nil {
						t.Errorf("%s: gateway.yaml: %v", path, err)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("only %d documents under deploy/", n)
	}
}

// TestEnvoyConfig decodes deploy/envoy/envoy.yaml into go-control-plane's
// bootstrap types (unknown fields refused) and validates it, and checks
// the ext_authz filter is the one this service expects.
func TestEnvoyConfig(t *testing.T) {
	doc := yamlDocs(t, filepath.Join(deployDir, "envoy/envoy.yaml"))[0]
	j, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var bs bootstrapv3.Bootstrap
	if err := protojson.Unmarshal(j, &bs); err != nil {
		t.Fatalf("decoding: %v", err)
	}
	if err := bs.ValidateAll(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	var hcm hcmv3.HttpConnectionManager
	if err := bs.StaticResources.Listeners[0].FilterChains[0].Filters[0].GetTypedConfig().UnmarshalTo(&hcm); err != nil {
		t.Fatal(err)
	}
	var ea extauthzv3.ExtAuthz
	if err := hcm.HttpFilters[0].GetTypedConfig().UnmarshalTo(&ea); err != nil {
		t.Fatal(err)
	}
	if ea.FailureModeAllow || !ea.WithRequestBody.GetPackAsBytes() || !ea.WithRequestBody.GetAllowPartialMessage() ||
		ea.GetGrpcService().GetEnvoyGrpc().GetClusterName() != "tenuo_authorizer" || hcm.GetNormalizePath().GetValue() || hcm.MergeSlashes {
		t.Fatalf("ext_authz filter: %v", &ea)
	}
}
