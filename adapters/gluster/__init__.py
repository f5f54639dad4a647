"""GlusterFS: strict parsers of the gluster CLI's ``--xml`` outputs (see
docs/gluster.md). Operations and the port come later."""
