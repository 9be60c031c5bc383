import { describe, expect, it } from "vitest";
import { debianMirror } from "./debian-mirror.ts";

const deb822 = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
`;

describe("debianMirror", () => {
  it("takes the URIs of the deb822 stanza whose Suites hold the suite, not the security one", () => {
    const security = deb822.split("\n\n")[1] ?? "";
    expect(debianMirror([{ path: "/x/debian.sources", text: `${security}\n\n${deb822}` }], "bookworm")).toBe(
      "http://deb.debian.org/debian",
    );
  });

  it("reads a one-line deb entry (with options) from a .list file", () => {
    const list =
      "deb-src http://src.example/debian bookworm main\ndeb [arch=amd64] http://m.example/debian bookworm main\n";
    expect(debianMirror([{ path: "/etc/apt/sources.list", text: list }], "bookworm")).toBe(
      "http://m.example/debian",
    );
  });

  it("finds nothing for another suite or deb-src alone", () => {
    expect(debianMirror([{ path: "/x/debian.sources", text: deb822 }], "trixie")).toBeUndefined();
    expect(
      debianMirror(
        [{ path: "/x/a.list", text: "deb-src http://src.example/debian bookworm main\n" }],
        "bookworm",
      ),
    ).toBeUndefined();
  });
});
