package changes

// ShortSHA abbreviates a commit hash to 12 hex digits: the form logs,
// errors and CLI messages use, long enough to stay unique in a large
// monorepo. Anything that is not a hex hash is returned as it is.
func ShortSHA(sha string) string { return abbrev(sha, 12) }

// DisplaySHA abbreviates a commit hash to 7 hex digits: the form GitHub and
// Azure DevOps show, which PR comments, job summaries and release notes use.
// Anything that is not a hex hash is returned as it is.
func DisplaySHA(sha string) string { return abbrev(sha, 7) }

func abbrev(sha string, n int) string {
	if len(sha) <= n {
		return sha
	}
	for i := 0; i < len(sha); i++ {
		c := sha[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return sha
		}
	}
	return sha[:n]
}
