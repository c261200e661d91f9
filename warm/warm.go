package warm

import (
	_ "github.com/BurntSushi/toml"
	_ "github.com/Masterminds/semver/v3"
	_ "github.com/cenkalti/backoff/v4"
	_ "github.com/getkin/kin-openapi/openapi3filter"
	_ "github.com/getkin/kin-openapi/routers/gorillamux"
	_ "github.com/go-git/go-git/v5"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/google/go-github/v60/github"
	_ "github.com/microsoft/azure-devops-go-api/azuredevops/v7/git"
	_ "github.com/sethvargo/go-githubactions"
	_ "golang.org/x/time/rate"
	_ "gopkg.in/yaml.v3"
)
