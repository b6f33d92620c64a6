# Read a file of the server's, outside the student's folder, print it; then try to change it.
try:
    print("SECRET:", open("SECRET_FILE").read())
except Exception as e:
    print("could not read:", type(e).__name__, e)
for act in (lambda: open("SECRET_FILE", "a").write("changed by a student"),
            lambda: __import__("os").remove("SECRET_FILE")):
    try:
        act()
    except Exception as e:
        print("could not change:", type(e).__name__, e)
