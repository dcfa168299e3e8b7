"""``rtdeclip plugins``: where the LADSPA and LV2 plug-ins are;
``rtdeclip plugins install [--system]`` copies them where hosts look."""
from rtdeclip import plugins


def register(sub):
    p = sub.add_parser("plugins", help="show (or install) the LADSPA and LV2 plug-ins",
                       description="Print the folders holding the LADSPA library and the LV2 "
                                   "bundle (use them as LADSPA_PATH / LV2_PATH), or copy them "
                                   "to ~/.ladspa and ~/.lv2 with 'install'.")
    p.add_argument("action", nargs="?", choices=["install"], help="copy the plug-ins")
    p.add_argument("--system", action="store_true",
                   help="install into /usr/local/lib/ladspa and /usr/local/lib/lv2 instead")
    p.set_defaults(func=run)


def run(args):
    plugins.check_built()
    if args.action == "install":
        where = plugins.install(system=args.system)
        print(f"installed ladspa: {where['ladspa']}")
        print(f"installed lv2: {where['lv2']}")
        return 0
    print(f"ladspa: {plugins.ladspa_dir()}")
    print(f"lv2: {plugins.lv2_dir()}")
    return 0
